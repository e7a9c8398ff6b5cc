import Foundation
import TensorFormats
import XCTest
@testable import LatentCache

/// Test-only reader of `torch.save` archives holding a dict of names → 1-D int64 tensors: the zip's
/// stored entries (CRC checked) and a small pickle machine for the opcodes torch's protocol-2 pickles use
/// (memo included). Checked against a file written by torch itself (Tests/Fixtures/delphi).
enum TorchArchiveReader {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// Entry name → bytes, from the central directory.
    static func entries(_ b: [UInt8]) throws -> [String: [UInt8]] {
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        guard b.count >= 22, let eocd = (0 ... b.count - 22).reversed().first(where: { u32($0) == 0x0605_4B50 }) else {
            throw Failure(description: "no end of central directory")
        }
        var out: [String: [UInt8]] = [:]
        var o = u32(eocd + 16)
        for _ in 0 ..< u16(eocd + 10) {
            guard u32(o) == 0x0201_4B50 else { throw Failure(description: "bad central header at \(o)") }
            guard u16(o + 10) == 0 else { throw Failure(description: "compressed entry") }
            let crc = UInt32(u32(o + 16)), size = u32(o + 24), nameLen = u16(o + 28), extraLen = u16(o + 30), comment = u16(o + 32)
            let name = String(decoding: b[o + 46 ..< o + 46 + nameLen], as: UTF8.self)
            let local = u32(o + 42)
            guard u32(local) == 0x0403_4B50 else { throw Failure(description: "bad local header of \(name)") }
            let start = local + 30 + u16(local + 26) + u16(local + 28)
            let data = Array(b[start ..< start + size])
            guard data.withUnsafeBytes({ CRC32.checksum($0) }) == crc else { throw Failure(description: "CRC of \(name)") }
            out[name] = data
            o += 46 + nameLen + extraLen + comment
        }
        return out
    }

    indirect enum Value: Equatable {
        case mark, none, bool(Bool), int(Int), string(String), global(String), tuple([Value])
        case dict([Value]), persistent(Value), tensor(storage: String, offset: Int, size: Int)
    }

    /// The dict, in pickle order, with each tensor's values.
    static func int64Dictionary(_ data: [UInt8]) throws -> [(String, [Int64])] {
        let files = try entries(data)
        guard let pkl = files.first(where: { $0.key.hasSuffix("/data.pkl") }) else { throw Failure(description: "no data.pkl") }
        let prefix = String(pkl.key.dropLast("data.pkl".count))
        guard case .dict(let items) = try unpickle(pkl.value) else { throw Failure(description: "not a dict") }
        return try stride(from: 0, to: items.count, by: 2).map { i in
            guard case .string(let k) = items[i], case .tensor(let key, let offset, let size) = items[i + 1],
                  let raw = files[prefix + "data/" + key], raw.count >= 8 * (offset + size) else {
                throw Failure(description: "item \(i / 2) is not a name and an int64 tensor")
            }
            return (k, (0 ..< size).map { j in raw.withUnsafeBytes { Int64(littleEndian: $0.loadUnaligned(fromByteOffset: 8 * (offset + j), as: Int64.self)) } })
        }
    }

    static func unpickle(_ b: [UInt8]) throws -> Value {
        var stack: [Value] = [], memo: [Int: Value] = [:], i = 0
        func n(_ k: Int) -> Int { var v = 0; for j in 0 ..< k { v |= Int(b[i + j]) << (8 * j) }; i += k; return v }
        func popMark() -> [Value] {
            let m = stack.lastIndex(of: .mark) ?? 0
            let items = Array(stack[(m + 1)...]); stack.removeSubrange(m...); return items
        }
        while i < b.count {
            let op = b[i]; i += 1
            switch op {
            case 0x80: i += 1                                            // PROTO
            case 0x7D: stack.append(.dict([]))                            // EMPTY_DICT
            case 0x28: stack.append(.mark)
            case 0x29: stack.append(.tuple([]))
            case 0x4E: stack.append(.none)
            case 0x88, 0x89: stack.append(.bool(op == 0x88))
            case 0x4B: stack.append(.int(n(1)))
            case 0x4D: stack.append(.int(n(2)))
            case 0x4A: stack.append(.int(Int(Int32(truncatingIfNeeded: n(4)))))
            case 0x8A: let k = n(1); stack.append(.int(n(k)))            // LONG1 (small non-negative values)
            case 0x58, 0x8C:                                              // BINUNICODE, SHORT_BINUNICODE
                let len = n(op == 0x58 ? 4 : 1)
                stack.append(.string(String(decoding: b[i ..< i + len], as: UTF8.self))); i += len
            case 0x63:                                                    // GLOBAL module\nname\n
                var parts: [String] = []
                for _ in 0 ..< 2 { let e = b[i...].firstIndex(of: 0x0A)!; parts.append(String(decoding: b[i ..< e], as: UTF8.self)); i = e + 1 }
                stack.append(.global(parts.joined(separator: ".")))
            case 0x71: memo[n(1)] = stack.last                            // BINPUT
            case 0x72: memo[n(4)] = stack.last                            // LONG_BINPUT
            case 0x94: memo[memo.count] = stack.last                      // MEMOIZE
            case 0x68: stack.append(memo[n(1)] ?? .none)                  // BINGET
            case 0x6A: stack.append(memo[n(4)] ?? .none)                  // LONG_BINGET
            case 0x74: stack.append(.tuple(popMark()))
            case 0x85, 0x86, 0x87:
                let k = Int(op - 0x84); let t = Array(stack.suffix(k)); stack.removeLast(k); stack.append(.tuple(t))
            case 0x51: stack.append(.persistent(stack.removeLast()))      // BINPERSID
            case 0x52:                                                    // REDUCE
                let args = stack.removeLast(), f = stack.removeLast()
                switch (f, args) {
                case (.global("collections.OrderedDict"), _): stack.append(.dict([]))
                case (.global("torch._utils._rebuild_tensor_v2"), .tuple(let a)):
                    guard case .persistent(.tuple(let pid))? = a.first, pid.count == 5, pid[1] == .global("torch.LongStorage"),
                          case .string(let key) = pid[2], case .int(let offset) = a[1], case .tuple(let size) = a[2],
                          size.count == 1, case .int(let s) = size[0] else { throw Failure(description: "unexpected tensor arguments") }
                    stack.append(.tensor(storage: key, offset: offset, size: s))
                default: throw Failure(description: "unexpected call of \(f)")
                }
            case 0x75, 0x73:                                              // SETITEMS, SETITEM
                let items = op == 0x75 ? popMark() : Array(stack.suffix(2))
                if op == 0x73 { stack.removeLast(2) }
                guard case .dict(let d) = stack.removeLast() else { throw Failure(description: "SETITEMS on a non-dict") }
                stack.append(.dict(d + items))
            case 0x2E: return stack.last ?? .none                         // STOP
            default: throw Failure(description: String(format: "unsupported opcode 0x%02x at %d", op, i - 1))
            }
        }
        throw Failure(description: "no STOP")
    }
}
