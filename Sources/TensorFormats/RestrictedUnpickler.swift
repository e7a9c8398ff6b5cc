/// A value built by `RestrictedUnpickler`: only data, never an object of an arbitrary class.
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    /// dict and collections.OrderedDict, in insertion order.
    case dict(PickleDict)
    /// An allowed global (a class or function reference), before it is called.
    case global(module: String, name: String)
    /// torch.save's persistent storage reference: ('storage', torch.XStorage, key, location, numel).
    case storage(TorchStorageRef)
    /// A tensor rebuilt by torch._utils._rebuild_tensor_v2 (or _rebuild_parameter).
    case tensor(TorchTensorRef)
}

/// A mutable pickle list (pickle's APPEND changes a list that the memo may also hold).
public final class PickleList { public var items: [PickleValue] = [] }
/// A mutable pickle dict in insertion order.
public final class PickleDict { public var pairs: [(key: PickleValue, value: PickleValue)] = [] }

/// A storage of a torch.save archive: `data/<key>` of `dtype`, `count` elements.
public struct TorchStorageRef: Sendable, Equatable {
    public let key: String
    public let dtype: SafetensorsDType
    public let count: Int
}

/// A strided view of a storage, as `_rebuild_tensor_v2(storage, offset, size, stride, …)` describes it.
public struct TorchTensorRef: Sendable, Equatable {
    public let storage: TorchStorageRef
    public let offset: Int
    public let shape: [Int]
    public let stride: [Int]
}

/// Why a pickle was refused or could not be read.
public enum PickleError: Error, CustomStringConvertible, Equatable {
    case refusedGlobal(path: String, module: String, name: String, offset: Int)
    case refusedOpcode(path: String, opcode: UInt8, offset: Int, reason: String)
    case malformed(path: String, offset: Int, reason: String)

    public var description: String {
        switch self {
        case let .refusedGlobal(p, m, n, o):
            return "\(p): the pickle references \(m).\(n) at offset \(o); Featurescope builds only tensors, dicts, lists, "
                + "tuples, numbers and strings from a pickle and never runs its code — refused"
        case let .refusedOpcode(p, op, o, r):
            return "\(p): pickle opcode 0x\(String(op, radix: 16)) at offset \(o) is refused: \(r)"
        case let .malformed(p, o, r): return "\(p): malformed pickle at offset \(o): \(r)"
        }
    }
}

/// A pickle reader that builds data only (protocols 2–5, what `torch.save` writes).
///
/// Allowed globals: `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter`
/// and the typed storage classes `torch.<Float|Half|BFloat16|Double|Long|Int|Short|Char|Byte|Bool>Storage` — and those
/// are interpreted here, never looked up or called. Any other global, and every opcode that would construct an object
/// of a class (NEWOBJ, INST, OBJ, EXT…), is refused with the module, name and byte offset.
public struct RestrictedUnpickler {
    public let path: String
    let bytes: [UInt8]

    static let storageTypes: [String: SafetensorsDType] = [
        "FloatStorage": .F32, "HalfStorage": .F16, "BFloat16Storage": .BF16, "DoubleStorage": .F64,
        "LongStorage": .I64, "IntStorage": .I32, "ShortStorage": .I16, "CharStorage": .I8, "ByteStorage": .U8, "BoolStorage": .BOOL,
    ]

    public init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    static func allowed(_ module: String, _ name: String) -> Bool {
        switch (module, name) {
        case ("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"): return true
        case ("torch", _): return storageTypes[name] != nil
        default: return false
        }
    }

    /// Unpickles the whole stream.
    public func load() throws -> PickleValue {
        var stack: [PickleValue] = []
        var marks: [Int] = []
        var memo: [Int: PickleValue] = [:]
        var i = 0
        var opStart = 0
        func fail(_ why: String) -> PickleError { .malformed(path: path, offset: opStart, reason: why) }
        func need(_ n: Int) throws {
            guard n >= 0, n <= bytes.count - i else { throw fail("truncated (needs \(n) more bytes)") }
        }
        func uint(_ n: Int) throws -> Int {
            try need(n)
            var v = 0
            for k in 0 ..< n { v |= Int(bytes[i + k]) << (8 * k) }
            i += n
            return v
        }
        func take(_ n: Int) throws -> [UInt8] {
            try need(n)
            defer { i += n }
            return Array(bytes[i ..< i + n])
        }
        func line() throws -> String {
            guard let end = bytes[i...].firstIndex(of: 0x0A) else { throw fail("unterminated text line") }
            defer { i = end + 1 }
            return String(decoding: bytes[i ..< end], as: UTF8.self)
        }
        func pop() throws -> PickleValue {
            guard let v = stack.popLast() else { throw fail("stack underflow") }
            if let m = marks.last, stack.count < m { throw fail("pop below a mark") }
            return v
        }
        func popMark() throws -> [PickleValue] {
            guard let m = marks.popLast(), m <= stack.count else { throw fail("no mark") }
            defer { stack.removeSubrange(m...) }
            return Array(stack[m...])
        }
        func global(_ module: String, _ name: String) throws -> PickleValue {
            guard RestrictedUnpickler.allowed(module, name) else {
                throw PickleError.refusedGlobal(path: path, module: module, name: name, offset: opStart)
            }
            return .global(module: module, name: name)
        }
        func setItems(_ target: PickleValue, _ items: [PickleValue]) throws {
            guard case let .dict(d) = target else { throw fail("SETITEM(S) on a non-dict") }
            guard items.count % 2 == 0 else { throw fail("odd number of dict items") }
            for k in stride(from: 0, to: items.count, by: 2) { d.pairs.append((items[k], items[k + 1])) }
        }
        func append(_ target: PickleValue, _ items: [PickleValue]) throws {
            guard case let .list(l) = target else { throw fail("APPEND(S) on a non-list") }
            l.items += items
        }

        while true {
            opStart = i
            guard i < bytes.count else { throw fail("no STOP opcode before the end of the data") }
            let op = bytes[i]
            i += 1
            switch op {
            case 0x80: _ = try uint(1)                                   // PROTO
            case 0x95: _ = try uint(8)                                   // FRAME
            case 0x2E:                                                   // STOP
                guard let v = stack.last else { throw fail("STOP with an empty stack") }
                return v
            case 0x28: marks.append(stack.count)                         // MARK
            case 0x30: _ = try pop()                                     // POP
            case 0x31: _ = try popMark()                                 // POP_MARK
            case 0x32:                                                   // DUP
                guard let v = stack.last else { throw fail("DUP on an empty stack") }
                stack.append(v)
            case 0x4E: stack.append(.none)                               // NONE
            case 0x88: stack.append(.bool(true))                         // NEWTRUE
            case 0x89: stack.append(.bool(false))                        // NEWFALSE
            case 0x4A:                                                   // BININT
                stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))
            case 0x4B: stack.append(.int(try uint(1)))                   // BININT1
            case 0x4D: stack.append(.int(try uint(2)))                   // BININT2
            case 0x8A, 0x8B:                                             // LONG1, LONG4
                let n = try uint(op == 0x8A ? 1 : 4)
                guard n <= 8 else { throw fail("integer of \(n) bytes is too large") }
                let b = try take(n)
                var v: Int64 = 0
                for (k, x) in b.enumerated() { v |= Int64(x) << (8 * Int64(k)) }
                if n > 0, n < 8, b[n - 1] & 0x80 != 0 { v -= Int64(1) << (8 * Int64(n)) }
                stack.append(.int(Int(v)))
            case 0x49:                                                   // INT (text)
                let s = try line()
                if s == "00" { stack.append(.bool(false)) } else if s == "01" { stack.append(.bool(true)) } else {
                    guard let v = Int(s) else { throw fail("INT '\(s)'") }
                    stack.append(.int(v))
                }
            case 0x47:                                                   // BINFLOAT (big-endian)
                let b = try take(8)
                var u: UInt64 = 0
                for x in b { u = u << 8 | UInt64(x) }
                stack.append(.float(Double(bitPattern: u)))
            case 0x58, 0x8C, 0x8D:                                       // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                let n = try uint(op == 0x58 ? 4 : op == 0x8C ? 1 : 8)
                stack.append(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x54, 0x55:                                             // BINSTRING, SHORT_BINSTRING
                let n = try uint(op == 0x54 ? 4 : 1)
                stack.append(.string(String(decoding: try take(n), as: UTF8.self)))
            case 0x42, 0x43, 0x8E:                                       // BINBYTES, SHORT_BINBYTES, BINBYTES8
                let n = try uint(op == 0x42 ? 4 : op == 0x43 ? 1 : 8)
                stack.append(.bytes(try take(n)))
            case 0x29: stack.append(.tuple([]))                          // EMPTY_TUPLE
            case 0x74: stack.append(.tuple(try popMark()))               // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))                 // TUPLE1
            case 0x86:                                                   // TUPLE2
                let b = try pop(), a = try pop()
                stack.append(.tuple([a, b]))
            case 0x87:                                                   // TUPLE3
                let c = try pop(), b = try pop(), a = try pop()
                stack.append(.tuple([a, b, c]))
            case 0x5D: stack.append(.list(PickleList()))                 // EMPTY_LIST
            case 0x6C:                                                   // LIST
                let l = PickleList(); l.items = try popMark(); stack.append(.list(l))
            case 0x61:                                                   // APPEND
                let v = try pop()
                guard let t = stack.last else { throw fail("APPEND with no list") }
                try append(t, [v])
            case 0x65:                                                   // APPENDS
                let items = try popMark()
                guard let t = stack.last else { throw fail("APPENDS with no list") }
                try append(t, items)
            case 0x7D: stack.append(.dict(PickleDict()))                 // EMPTY_DICT
            case 0x64:                                                   // DICT
                let d = PickleValue.dict(PickleDict())
                try setItems(d, try popMark())
                stack.append(d)
            case 0x73:                                                   // SETITEM
                let v = try pop(), k = try pop()
                guard let t = stack.last else { throw fail("SETITEM with no dict") }
                try setItems(t, [k, v])
            case 0x75:                                                   // SETITEMS
                let items = try popMark()
                guard let t = stack.last else { throw fail("SETITEMS with no dict") }
                try setItems(t, items)
            case 0x71, 0x72:                                             // BINPUT, LONG_BINPUT
                let k = try uint(op == 0x71 ? 1 : 4)
                guard let v = stack.last else { throw fail("PUT with an empty stack") }
                memo[k] = v
            case 0x94:                                                   // MEMOIZE
                guard let v = stack.last else { throw fail("MEMOIZE with an empty stack") }
                memo[memo.count] = v
            case 0x68, 0x6A:                                             // BINGET, LONG_BINGET
                let k = try uint(op == 0x68 ? 1 : 4)
                guard let v = memo[k] else { throw fail("memo key \(k) is unset") }
                stack.append(v)
            case 0x63:                                                   // GLOBAL
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:                                                   // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard case let .string(module) = m, case let .string(name) = n else { throw fail("STACK_GLOBAL needs two strings") }
                stack.append(try global(module, name))
            case 0x51:                                                   // BINPERSID
                stack.append(try persistent(try pop(), fail: fail))
            case 0x52:                                                   // REDUCE
                let args = try pop(), callable = try pop()
                stack.append(try reduce(callable, args, fail: fail))
            case 0x62:                                                   // BUILD: state of an OrderedDict (e.g. _metadata) or a tensor
                _ = try pop()
                guard let t = stack.last else { throw fail("BUILD with no object") }
                switch t {
                case .dict, .tensor: break
                default: throw PickleError.refusedOpcode(path: path, opcode: op, offset: opStart, reason: "BUILD sets the state of an object, allowed only on dicts and tensors")
                }
            default:
                throw PickleError.refusedOpcode(path: path, opcode: op, offset: opStart,
                                                reason: "only data opcodes are read (no object construction, extensions or protocol-0 text forms)")
            }
        }
    }

    private func persistent(_ pid: PickleValue, fail: (String) -> PickleError) throws -> PickleValue {
        guard case let .tuple(t) = pid, t.count == 5, case .string("storage") = t[0],
              case let .global("torch", typeName) = t[1], let dtype = RestrictedUnpickler.storageTypes[typeName],
              case let .string(key) = t[2], case let .int(count) = t[4], count >= 0 else {
            throw fail("persistent id is not ('storage', torch.<Type>Storage, key, location, numel)")
        }
        return .storage(TorchStorageRef(key: key, dtype: dtype, count: count))
    }

    private func reduce(_ callable: PickleValue, _ args: PickleValue, fail: (String) -> PickleError) throws -> PickleValue {
        guard case let .global(module, name) = callable, case let .tuple(a) = args else { throw fail("REDUCE needs an allowed global and an argument tuple") }
        switch (module, name) {
        case ("collections", "OrderedDict"):
            let d = PickleDict()
            if let first = a.first, case let .list(items) = first {
                for item in items.items {
                    guard case let .tuple(kv) = item, kv.count == 2 else { throw fail("OrderedDict item is not a pair") }
                    d.pairs.append((kv[0], kv[1]))
                }
            }
            return .dict(d)
        case ("torch._utils", "_rebuild_tensor_v2"):
            guard a.count >= 4, case let .storage(s) = a[0], case let .int(offset) = a[1],
                  case let .tuple(sizeValues) = a[2], case let .tuple(strideValues) = a[3] else {
                throw fail("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, …)")
            }
            var shape: [Int] = [], strides: [Int] = []
            for v in sizeValues { guard case let .int(x) = v, x >= 0 else { throw fail("tensor size is not a non-negative integer") }; shape.append(x) }
            for v in strideValues { guard case let .int(x) = v, x >= 0 else { throw fail("tensor stride is not a non-negative integer") }; strides.append(x) }
            guard shape.count == strides.count, offset >= 0 else { throw fail("tensor size \(shape) and stride \(strides) disagree") }
            guard let count = CheckedSize.product(shape) else { throw fail("tensor size \(shape) overflows") }
            if count > 0 {
                var last = offset
                for (n, st) in zip(shape, strides) {
                    guard let step = CheckedSize.multiply(n - 1, st), let sum = CheckedSize.add(last, step) else { throw fail("tensor view overflows") }
                    last = sum
                }
                guard last < s.count else {
                    throw fail("tensor of size \(shape), stride \(strides), offset \(offset) reaches element \(last) of a \(s.count)-element storage")
                }
            }
            return .tensor(TorchTensorRef(storage: s, offset: offset, shape: shape, stride: strides))
        case ("torch._utils", "_rebuild_parameter"):
            guard let first = a.first, case .tensor = first else { throw fail("_rebuild_parameter without a tensor") }
            return first
        default:
            throw fail("\(module).\(name) cannot be called")
        }
    }
}
