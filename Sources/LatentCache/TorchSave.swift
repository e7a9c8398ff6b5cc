import Foundation
import TensorFormats

/// Writes PyTorch's `torch.save` format for a dict of names → 1-D int64 tensors (what delphi keeps in
/// `log/hookpoint_firing_counts.pt`), readable by `torch.load(path, weights_only=True)`.
///
/// The format: a zip archive (stored, no compression) whose entries share one folder `<archive>/`:
/// `data.pkl` (a protocol-2 pickle of the dict, each tensor rebuilt by `torch._utils._rebuild_tensor_v2`
/// from a persistent-id storage reference), `byteorder` (`little`), `data/<key>` (each storage's raw
/// little-endian bytes, 64-byte aligned as torch aligns them) and `version` (`3`).
public enum TorchSave {
    /// The archive bytes of `tensors` (dict order = array order), its entries under `archiveName/`.
    /// Throws when the archive would pass 4 GiB (zip64, which this writer does not write).
    public static func int64Dictionary(_ tensors: [(name: String, values: [Int64])], archiveName: String = "archive") throws -> Data {
        let bytes = tensors.reduce(0) { $0 + 8 * $1.values.count + 200 + $1.name.utf8.count }
        guard bytes < Int(UInt32.max) - (1 << 20) else {
            throw CacheError.invalidArgument("\(bytes) bytes of tensors do not fit a torch.save archive without zip64")
        }
        var pickle = Pickle()
        pickle.emptyDict()
        pickle.mark()
        for (i, t) in tensors.enumerated() {
            pickle.string(t.name)
            pickle.global("torch._utils", "_rebuild_tensor_v2")
            pickle.mark()
            pickle.mark()                       // the persistent id: ('storage', LongStorage, key, 'cpu', numel)
            pickle.string("storage")
            pickle.global("torch", "LongStorage")
            pickle.string(String(i))
            pickle.string("cpu")
            pickle.int(t.values.count)
            pickle.op(0x74)                     // TUPLE
            pickle.op(0x51)                     // BINPERSID
            pickle.int(0)                       // storage offset
            pickle.int(t.values.count); pickle.op(0x85)   // size (TUPLE1)
            pickle.int(1); pickle.op(0x85)                // stride
            pickle.op(0x89)                     // requires_grad = False
            pickle.global("collections", "OrderedDict")
            pickle.op(0x29)                     // EMPTY_TUPLE
            pickle.op(0x52)                     // REDUCE: backward hooks = OrderedDict()
            pickle.op(0x74)                     // TUPLE: the arguments
            pickle.op(0x52)                     // REDUCE
        }
        pickle.op(0x75)                         // SETITEMS
        pickle.op(0x2E)                         // STOP

        var zip = StoredZip()
        zip.add(archiveName + "/data.pkl", pickle.bytes)
        zip.add(archiveName + "/byteorder", Array("little".utf8))
        for (i, t) in tensors.enumerated() {
            var raw = [UInt8]()
            raw.reserveCapacity(8 * t.values.count)
            for v in t.values { withUnsafeBytes(of: v.littleEndian) { raw.append(contentsOf: $0) } }
            zip.add(archiveName + "/data/\(i)", raw)
        }
        zip.add(archiveName + "/version", Array("3\n".utf8))
        return Data(zip.finish())
    }

    /// Pickle protocol 2 opcodes for the few value types the dict needs.
    struct Pickle {
        var bytes: [UInt8] = [0x80, 0x02]       // PROTO 2
        mutating func op(_ o: UInt8) { bytes.append(o) }
        mutating func mark() { op(0x28) }
        mutating func emptyDict() { op(0x7D) }
        mutating func string(_ s: String) {     // BINUNICODE
            let u = Array(s.utf8)
            op(0x58); le(UInt32(u.count)); bytes += u
        }
        mutating func global(_ module: String, _ name: String) { op(0x63); bytes += Array("\(module)\n\(name)\n".utf8) }
        mutating func int(_ v: Int) {
            if v >= 0 && v < 256 { op(0x4B); bytes.append(UInt8(v)) }                         // BININT1
            else if v >= 0 && v < 65536 { op(0x4D); le(UInt16(v)) }                           // BININT2
            else if v >= Int(Int32.min) && v <= Int(Int32.max) { op(0x4A); le(UInt32(bitPattern: Int32(v))) }  // BININT
            else { op(0x8A); bytes.append(8); le(UInt64(bitPattern: Int64(v))) }               // LONG1, 8 bytes
        }
        mutating func le<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    }

    /// A zip archive of stored (uncompressed) entries whose data start at multiples of 64 bytes.
    struct StoredZip {
        var out: [UInt8] = []
        var central: [UInt8] = []
        var count = 0

        mutating func add(_ name: String, _ data: [UInt8]) {
            let n = Array(name.utf8)
            let crc = data.withUnsafeBytes { CRC32.checksum($0) }
            let offset = out.count
            // Padding in an extra field ("FB", as torch writes it) so the data start 64-byte aligned.
            let pad = (64 - (offset + 30 + n.count + 4) % 64) % 64
            var extra: [UInt8] = [0x46, 0x42]
            Self.le16(&extra, pad)
            extra += [UInt8](repeating: 0x5A, count: pad)
            func header(_ to: inout [UInt8], central c: Bool) {
                Self.le32(&to, c ? 0x0201_4B50 : 0x0403_4B50)
                if c { Self.le16(&to, 20) }           // version made by
                Self.le16(&to, 20)                    // version needed
                Self.le16(&to, 0)                     // flags
                Self.le16(&to, 0)                     // method: stored
                Self.le16(&to, 0); Self.le16(&to, 0x21)  // time, date (1980-01-01)
                Self.le32(&to, crc)
                Self.le32(&to, UInt32(data.count)); Self.le32(&to, UInt32(data.count))
                Self.le16(&to, n.count)
                Self.le16(&to, c ? 0 : extra.count)
                if c {
                    Self.le16(&to, 0); Self.le16(&to, 0); Self.le16(&to, 0)   // comment, disk, internal attributes
                    Self.le32(&to, 0)                                         // external attributes
                    Self.le32(&to, UInt32(offset))
                }
                to += n
            }
            header(&out, central: false)
            out += extra
            out += data
            header(&central, central: true)
            count += 1
        }

        mutating func finish() -> [UInt8] {
            let start = out.count
            out += central
            Self.le32(&out, 0x0605_4B50)
            Self.le16(&out, 0); Self.le16(&out, 0)
            Self.le16(&out, count); Self.le16(&out, count)
            Self.le32(&out, UInt32(central.count)); Self.le32(&out, UInt32(start))
            Self.le16(&out, 0)
            return out
        }

        static func le16(_ b: inout [UInt8], _ v: Int) { b.append(UInt8(v & 0xFF)); b.append(UInt8((v >> 8) & 0xFF)) }
        static func le32(_ b: inout [UInt8], _ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    }
}
