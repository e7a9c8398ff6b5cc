import Foundation

/// One member of a zip archive, as its central directory describes it.
public struct ZipEntry: Sendable, Equatable {
    public let name: String
    /// 0 = stored, 8 = deflated (the only two methods read).
    public let method: UInt16
    public let crc32: UInt32
    public let compressedSize: Int
    public let size: Int
    /// Offset of the entry's local header.
    public let localHeaderOffset: Int
}

/// A read-only zip archive over a memory-mapped file (what `numpy.savez` and `torch.save` write).
///
/// Every offset and size from the file is checked against the file's length; zip64 sizes and offsets are read;
/// members are stored or deflated (RFC 1951, `Inflate`), and each member's CRC-32 is verified when it is read.
/// Encrypted members, multi-disk archives and other compression methods are refused with an error naming the member.
public final class ZipArchive: @unchecked Sendable {
    public let path: String
    public let file: MappedFile
    /// Members in central-directory order.
    public let entries: [ZipEntry]
    private let byName: [String: Int]

    public convenience init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        path = file.path
        let bytes = file.bytes
        // End of central directory: the last "PK\5\6" within the final 22 + 65535 bytes.
        guard bytes.count >= 22 else {
            throw FormatError.invalidHeader(path: path, reason: "\(bytes.count) bytes is too short for a zip archive (end-of-central-directory record missing)")
        }
        var eocd = -1
        var i = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 65535)
        while i >= lowest {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 5, bytes[i + 3] == 6 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else {
            throw FormatError.invalidHeader(path: path, reason: "no zip end-of-central-directory record (truncated, or not a zip archive)")
        }
        var r = BinaryReader(bytes, path: path, offset: eocd + 4)
        let disk = try r.read(UInt16.self, "zip disk number")
        let cdDisk = try r.read(UInt16.self, "zip central directory disk")
        _ = try r.read(UInt16.self, "zip entries on this disk")
        var count = Int(try r.read(UInt16.self, "zip entry count"))
        var cdSize = Int(try r.read(UInt32.self, "zip central directory size"))
        var cdOffset = Int(try r.read(UInt32.self, "zip central directory offset"))
        guard disk == 0, cdDisk == 0 else {
            throw FormatError.invalidHeader(path: path, reason: "multi-disk zip archives are not supported")
        }
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // zip64: the locator sits 20 bytes before the EOCD record.
            guard eocd >= 20 else { throw FormatError.invalidHeader(path: path, reason: "zip64 locator missing") }
            var l = BinaryReader(bytes, path: path, offset: eocd - 20)
            guard try l.read(UInt32.self, "zip64 locator signature") == 0x0706_4B50 else {
                throw FormatError.invalidHeader(path: path, reason: "zip64 end-of-central-directory locator missing at offset \(eocd - 20)")
            }
            _ = try l.read(UInt32.self, "zip64 disk")
            let recordOffset = try l.read(UInt64.self, "zip64 record offset")
            guard recordOffset < UInt64(eocd) else {
                throw FormatError.invalidHeader(path: path, reason: "zip64 record offset \(recordOffset) lies past the end record")
            }
            var z = BinaryReader(bytes, path: path, offset: Int(recordOffset))
            guard try z.read(UInt32.self, "zip64 record signature") == 0x0606_4B50 else {
                throw FormatError.invalidHeader(path: path, reason: "no zip64 end-of-central-directory record at offset \(recordOffset)")
            }
            try z.skip(8 + 2 + 2 + 4 + 4 + 8, "zip64 record fields")
            let n = try z.read(UInt64.self, "zip64 entry count")
            let size = try z.read(UInt64.self, "zip64 central directory size")
            let offset = try z.read(UInt64.self, "zip64 central directory offset")
            guard n < 1 << 32, size < UInt64(bytes.count), offset < UInt64(bytes.count) else {
                throw FormatError.invalidHeader(path: path, reason: "zip64 central directory (\(n) entries, \(size) bytes at \(offset)) does not fit the file")
            }
            count = Int(n); cdSize = Int(size); cdOffset = Int(offset)
        }
        guard let cdEnd = CheckedSize.add(cdOffset, cdSize), cdEnd <= bytes.count else {
            throw FormatError.truncated(path: path, offset: cdOffset, needed: cdSize, available: max(0, bytes.count - cdOffset), what: "zip central directory")
        }
        var c = BinaryReader(UnsafeRawBufferPointer(rebasing: bytes[0 ..< cdEnd]), path: path, offset: cdOffset)
        var list: [ZipEntry] = []
        var index: [String: Int] = [:]
        list.reserveCapacity(min(count, 1 << 16))
        for e in 0 ..< count {
            let at = c.offset
            guard try c.read(UInt32.self, "zip central header \(e) signature") == 0x0201_4B50 else {
                throw FormatError.invalidHeader(path: path, reason: "zip central directory entry \(e) at offset \(at) has a bad signature")
            }
            try c.skip(4, "zip versions")
            let flags = try c.read(UInt16.self, "zip flags")
            let method = try c.read(UInt16.self, "zip method")
            try c.skip(4, "zip time")
            let crc = try c.read(UInt32.self, "zip crc")
            var csize = Int(try c.read(UInt32.self, "zip compressed size"))
            var usize = Int(try c.read(UInt32.self, "zip size"))
            let nameLength = Int(try c.read(UInt16.self, "zip name length"))
            let extraLength = Int(try c.read(UInt16.self, "zip extra length"))
            let commentLength = Int(try c.read(UInt16.self, "zip comment length"))
            try c.skip(8, "zip attributes")
            var local = Int(try c.read(UInt32.self, "zip local header offset"))
            let name = try c.readString(nameLength, "zip member name")
            var extra = BinaryReader(try c.readBytes(extraLength, "zip extra field of \(name)"), path: path)
            try c.skip(commentLength, "zip comment of \(name)")
            while extra.remaining >= 4 {
                let tag = try extra.read(UInt16.self, "zip extra tag")
                let length = Int(try extra.read(UInt16.self, "zip extra length"))
                var field = BinaryReader(try extra.readBytes(length, "zip extra field \(tag) of \(name)"), path: path)
                guard tag == 1 else { continue }
                // zip64: only the fields whose 32-bit value is saturated are present, in this order.
                if usize == 0xFFFF_FFFF { usize = Int(clamping: try field.read(UInt64.self, "zip64 size of \(name)")) }
                if csize == 0xFFFF_FFFF { csize = Int(clamping: try field.read(UInt64.self, "zip64 compressed size of \(name)")) }
                if local == 0xFFFF_FFFF { local = Int(clamping: try field.read(UInt64.self, "zip64 offset of \(name)")) }
            }
            guard flags & 1 == 0 else { throw FormatError.invalidHeader(path: path, reason: "zip member '\(name)' is encrypted") }
            guard local < bytes.count, csize <= bytes.count else {
                throw FormatError.invalidHeader(path: path, reason: "zip member '\(name)' (\(csize) bytes at \(local)) lies outside the \(bytes.count)-byte file")
            }
            index[name] = list.count
            list.append(ZipEntry(name: name, method: method, crc32: crc, compressedSize: csize, size: usize, localHeaderOffset: local))
        }
        entries = list
        byName = index
    }

    /// The member called `name`, or nil.
    public func entry(_ name: String) -> ZipEntry? { byName[name].map { entries[$0] } }

    /// The member's stored bytes (a slice of the mapping; only for stored members), after checking its local header.
    public func storedBytes(_ e: ZipEntry) throws -> UnsafeRawBufferPointer {
        guard e.method == 0 else {
            throw FormatError.invalidTensor(path: path, tensor: e.name, reason: "zip member is compressed (method \(e.method)), not stored")
        }
        return try file.slice(offset: try dataOffset(e), count: e.compressedSize, what: "zip member '\(e.name)'")
    }

    /// The member's bytes, inflated when deflated, CRC-32 checked. `limit` caps the uncompressed size.
    public func contents(_ e: ZipEntry, limit: Int = 1 << 34) throws -> [UInt8] {
        guard e.size <= limit else {
            throw FormatError.invalidTensor(path: path, tensor: e.name, reason: "zip member is \(e.size) bytes, more than the \(limit) allowed")
        }
        let raw = try file.slice(offset: try dataOffset(e), count: e.compressedSize, what: "zip member '\(e.name)'")
        let out: [UInt8]
        switch e.method {
        case 0:
            guard e.compressedSize == e.size else {
                throw FormatError.invalidTensor(path: path, tensor: e.name, reason: "stored zip member has size \(e.size) but \(e.compressedSize) stored bytes")
            }
            out = Array(raw)
        case 8:
            do { out = try Inflate.inflate(raw, expectedSize: e.size) } catch let error as InflateError {
                throw FormatError.invalidTensor(path: path, tensor: e.name, reason: "deflate stream is corrupt: \(error)")
            }
        default:
            throw FormatError.invalidTensor(path: path, tensor: e.name, reason: "zip compression method \(e.method) is not supported (only stored and deflated)")
        }
        let crc = out.withUnsafeBytes { CRC32.checksum($0) }
        guard crc == e.crc32 else {
            throw FormatError.invalidTensor(path: path, tensor: e.name,
                                            reason: String(format: "zip CRC-32 mismatch (file says %08x, data is %08x): the archive is corrupt", e.crc32, crc))
        }
        return out
    }

    /// Where the member's data begin: after its local header, name and extra field.
    public func dataOffset(_ e: ZipEntry) throws -> Int {
        var r = BinaryReader(file.bytes, path: path, offset: 0)
        try r.seek(to: e.localHeaderOffset, "zip local header of '\(e.name)'")
        guard try r.read(UInt32.self, "zip local header signature of '\(e.name)'") == 0x0403_4B50 else {
            throw FormatError.invalidHeader(path: path, reason: "zip member '\(e.name)': no local header at offset \(e.localHeaderOffset)")
        }
        try r.skip(22, "zip local header of '\(e.name)'")
        let n = Int(try r.read(UInt16.self, "zip local name length"))
        let x = Int(try r.read(UInt16.self, "zip local extra length"))
        try r.skip(n + x, "zip local name and extra field of '\(e.name)'")
        return r.offset
    }
}
