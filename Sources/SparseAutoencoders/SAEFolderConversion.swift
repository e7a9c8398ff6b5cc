import Foundation
import TensorFormats

/// Rewrites an SAE folder (SAELens, or one sparsify hook folder) with its float tensors in another dtype —
/// e.g. F16 to halve the size of weights shipped with sample data. Every `*.safetensors` file has its F32/F16/BF16/F64
/// tensors converted (integer tensors and metadata kept); every other regular file (cfg.json, logs, reports) is
/// copied byte for byte. The source must load as an SAE first, the converted copy is loaded back as a check, and
/// the output appears atomically (written beside it, then renamed).
public enum SAEFolderConversion {
    /// What was converted.
    public struct Report: Codable, Sendable, Equatable {
        public var output: String
        public var dtype: String
        public var convertedTensors: Int
        public var copiedFiles: [String]
        public var bytesBefore: Int
        public var bytesAfter: Int
        /// Largest |converted − original| over all converted values.
        public var worstAbsoluteError: Double
    }

    /// Converts `folder` into `output` with float tensors stored as `dtype` (F32, F16 or BF16).
    public static func convert(folder: String, output: String, dtype: SafetensorsDType, overwrite: Bool = false) throws -> Report {
        guard [.F32, .F16, .BF16].contains(dtype) else {
            throw SAEError.invalidArgument("dtype \(dtype.rawValue): expected F32, F16 or BF16")
        }
        _ = try SparseAutoencoder.load(folder: folder)
        let fm = FileManager.default
        if fm.fileExists(atPath: output) && !overwrite {
            throw SAEError.invalidArgument("\(output) exists (use --force to replace it)")
        }
        let names: [String]
        do { names = try fm.contentsOfDirectory(atPath: folder).sorted() } catch {
            throw SAEError.folderNotFound(path: folder)
        }
        let staging = output + ".partial-\(getpid())"
        try? fm.removeItem(atPath: staging)
        do { try fm.createDirectory(atPath: staging, withIntermediateDirectories: true) } catch {
            throw SAEError.invalidArgument("cannot create \(staging): \(error.localizedDescription)")
        }
        var report = Report(output: output, dtype: dtype.rawValue, convertedTensors: 0, copiedFiles: [],
                            bytesBefore: 0, bytesAfter: 0, worstAbsoluteError: 0)
        do {
            for name in names {
                let source = folder + "/" + name
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: source, isDirectory: &isDir), !isDir.boolValue, !name.hasPrefix(".") else { continue }
                report.bytesBefore += fileSize(source)
                if name.hasSuffix(".safetensors") {
                    let file: SafetensorsFile
                    do { file = try SafetensorsFile(path: source) } catch let e as FormatError { throw SAEError.format(e) }
                    var writer = SafetensorsWriter()
                    writer.metadata = file.metadata
                    for t in file.tensorNames {
                        let info = try file.info(t)
                        if [.F64, .F32, .F16, .BF16].contains(info.dtype) {
                            let values = try file.floats(t)
                            try writer.add(t, floats: values, shape: info.shape, dtype: dtype)
                            report.worstAbsoluteError = max(report.worstAbsoluteError, try worstError(values, dtype: dtype, name: t, path: source))
                            report.convertedTensors += 1
                        } else {
                            let raw = try file.rawBytes(t)
                            try writer.add(t, dtype: info.dtype, shape: info.shape, data: Data(raw))
                        }
                    }
                    try writer.write(to: staging + "/" + name)
                } else {
                    try fm.copyItem(atPath: source, toPath: staging + "/" + name)
                    report.copiedFiles.append(name)
                }
                report.bytesAfter += fileSize(staging + "/" + name)
            }
            _ = try SparseAutoencoder.load(folder: staging)
            if fm.fileExists(atPath: output) { try fm.removeItem(atPath: output) }
            try fm.moveItem(atPath: staging, toPath: output)
        } catch {
            try? fm.removeItem(atPath: staging)
            if let e = error as? SAEError { throw e }
            if let e = error as? FormatError { throw SAEError.format(e) }
            throw SAEError.invalidArgument("converting \(folder): \(error.localizedDescription)")
        }
        return report
    }

    /// Largest rounding error of storing `values` as `dtype`; non-finite results (overflow) are an error.
    private static func worstError(_ values: [Float], dtype: SafetensorsDType, name: String, path: String) throws -> Double {
        var worst = 0.0
        for v in values where v.isFinite {
            let back: Float
            switch dtype {
            case .F16: back = HalfFloat.toFloat(HalfFloat.fromFloat(v))
            case .BF16: back = HalfFloat.bf16ToFloat(HalfFloat.floatToBF16(v))
            default: back = v
            }
            guard back.isFinite else {
                throw SAEError.invalidArgument("\(path): tensor \(name) has value \(v), which \(dtype.rawValue) cannot hold")
            }
            worst = max(worst, Double(abs(back - v)))
        }
        return worst
    }

    private static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}
