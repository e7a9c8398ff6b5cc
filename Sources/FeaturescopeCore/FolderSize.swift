import Foundation

/// Disk use of a folder (`cache-info`, `cache-bench`).
public enum FolderSize {
    /// Total size in bytes of the regular files under `path`, recursively; 0 when it cannot be listed.
    public static func bytes(_ path: String) -> Int {
        guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total = 0
        while let f = e.nextObject() as? String {
            if let a = try? FileManager.default.attributesOfItem(atPath: path + "/" + f), (a[.type] as? FileAttributeType) == .typeRegular {
                total += (a[.size] as? Int) ?? 0
            }
        }
        return total
    }
}
