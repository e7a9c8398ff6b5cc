import CCurl
import Foundation

/// One HTTP POST over libcurl's easy interface, on a thread of its own.
///
/// `curl_easy_perform` sleeps in `poll` while it waits, unlike FoundationNetworking's URLSession,
/// whose libcurl multi integration busy-loops on write-readiness (issue 16, D3). Redirects are
/// never followed (the caller reports them), so headers such as `Authorization` reach only the
/// configured origin. Replies and their headers are capped.
struct CurlTransport: Sendable {
    /// What came back.
    struct Reply: Sendable {
        var status: Int
        /// Header values by lowercased name (the last one wins).
        var headers: [String: String]
        var body: Data
    }

    /// Why no complete reply came back.
    enum Failure: Error, Equatable {
        case couldNotConnect(String)
        case timedOut
        case transport(String)
        case bodyTooLarge(limit: Int)
        case headersTooLarge(String)
        case cancelled
    }

    /// Seconds the whole exchange may take.
    var timeout: Double
    /// Largest reply body accepted, in bytes.
    var maxBodyBytes: Int
    /// Largest total size of the reply's header lines, in bytes.
    var maxHeaderBytes: Int

    private static let globalInit: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    /// POSTs `body` to `url`; returns the reply whatever its status.
    func post(url: String, headers: [String], body: Data) async throws -> Reply {
        guard Self.globalInit else { throw Failure.transport("libcurl failed to initialise") }
        let transfer = Transfer(maxBodyBytes: maxBodyBytes, maxHeaderBytes: maxHeaderBytes)
        let timeoutMs = max(1, Int(timeout * 1000))
        let result: Result<Reply, Failure> = await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Result<Reply, Failure>, Never>) in
                let thread = Thread {
                    done.resume(returning: transfer.perform(url: url, headers: headers, body: body, timeoutMs: timeoutMs))
                }
                thread.name = "featurescope-http"
                thread.start()
            }
        } onCancel: {
            transfer.cancel()
        }
        return try result.get()
    }
}

/// The state of one exchange; its callbacks run on the performing thread only, `cancel` from anywhere.
private final class Transfer: @unchecked Sendable {
    // @unchecked: everything but `cancelled` is touched only by the thread running `perform`;
    // `cancelled` is guarded by `lock`.
    let maxBodyBytes: Int
    let maxHeaderBytes: Int
    var body = Data()
    var headers: [String: String] = [:]
    var headerBytes = 0
    var sawStatusLine = false
    var overflow: CurlTransport.Failure?
    private let lock = NSLock()
    private var cancelled = false

    init(maxBodyBytes: Int, maxHeaderBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderBytes = maxHeaderBytes
    }

    func cancel() { lock.withLock { cancelled = true } }
    var isCancelled: Bool { lock.withLock { cancelled } }

    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard body.count + bytes.count <= maxBodyBytes else {
            overflow = .bodyTooLarge(limit: maxBodyBytes)
            return false
        }
        body.append(contentsOf: bytes)
        return true
    }

    func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) -> Bool {
        headerBytes += bytes.count
        guard headerBytes <= maxHeaderBytes else {
            overflow = .headersTooLarge("the reply's headers exceed \(maxHeaderBytes) bytes")
            return false
        }
        let line = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if line.hasPrefix("HTTP/") {
            // A new response (after `100 Continue`): start its headers afresh.
            headers = [:]
            sawStatusLine = true
        } else if let colon = line.firstIndex(of: ":") {
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return true
    }

    func perform(url: String, headers requestHeaders: [String], body requestBody: Data, timeoutMs: Int) -> Result<CurlTransport.Reply, CurlTransport.Failure> {
        guard let h = curl_easy_init() else { return .failure(.transport("curl_easy_init failed")) }
        defer { curl_easy_cleanup(h) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        defer { errorBuffer.deallocate() }
        var list: UnsafeMutablePointer<curl_slist>?
        // No `Expect: 100-continue` round trip for larger bodies.
        for header in requestHeaders + ["Expect:"] { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }
        let context = Unmanaged.passUnretained(self).toOpaque()

        var ok = fs_curl_set_string(h, CURLOPT_URL, url) == CURLE_OK
        ok = ok && fs_curl_set_string(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK
        ok = ok && fs_curl_set_long(h, CURLOPT_FOLLOWLOCATION, 0) == CURLE_OK
        ok = ok && fs_curl_set_long(h, CURLOPT_NOSIGNAL, 1) == CURLE_OK
        ok = ok && fs_curl_set_long(h, CURLOPT_TIMEOUT_MS, timeoutMs) == CURLE_OK
        ok = ok && fs_curl_set_long(h, CURLOPT_CONNECTTIMEOUT_MS, timeoutMs) == CURLE_OK
        ok = ok && fs_curl_set_long(h, CURLOPT_POST, 1) == CURLE_OK
        ok = ok && fs_curl_set_size(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(requestBody.count)) == CURLE_OK
        ok = ok && requestBody.withUnsafeBytes { raw in
            fs_curl_set_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(errorBuffer))) == CURLE_OK
        }
        ok = ok && fs_curl_set_pointer(h, CURLOPT_HTTPHEADER, list) == CURLE_OK
        ok = ok && fs_curl_set_pointer(h, CURLOPT_ERRORBUFFER, errorBuffer) == CURLE_OK
        ok = ok && fs_curl_set_pointer(h, CURLOPT_WRITEDATA, context) == CURLE_OK
        ok = ok && fs_curl_set_data_callback(h, CURLOPT_WRITEFUNCTION, { data, size, count, context in
            guard let context else { return 0 }
            let t = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            return t.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
        }) == CURLE_OK
        ok = ok && fs_curl_set_pointer(h, CURLOPT_HEADERDATA, context) == CURLE_OK
        ok = ok && fs_curl_set_data_callback(h, CURLOPT_HEADERFUNCTION, { data, size, count, context in
            guard let context else { return 0 }
            let t = Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue()
            return t.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
        }) == CURLE_OK
        // Called at least once a second while waiting: the hook for cancellation.
        ok = ok && fs_curl_set_long(h, CURLOPT_NOPROGRESS, 0) == CURLE_OK
        ok = ok && fs_curl_set_pointer(h, CURLOPT_XFERINFODATA, context) == CURLE_OK
        ok = ok && fs_curl_set_progress_callback(h, { context, _, _, _, _ in
            guard let context else { return 1 }
            return Unmanaged<Transfer>.fromOpaque(context).takeUnretainedValue().isCancelled ? 1 : 0
        }) == CURLE_OK
        guard ok else { return .failure(.transport("libcurl rejected an option")) }

        let code = curl_easy_perform(h)
        if code == CURLE_OK {
            var status = 0
            _ = fs_curl_response_code(h, &status)
            return .success(CurlTransport.Reply(status: status, headers: headers, body: body))
        }
        if let overflow { return .failure(overflow) }
        let detail = errorBuffer.pointee != 0 ? String(cString: errorBuffer) : String(cString: curl_easy_strerror(code))
        switch code {
        case CURLE_ABORTED_BY_CALLBACK: return .failure(.cancelled)
        case CURLE_OPERATION_TIMEDOUT: return .failure(.timedOut)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .failure(.couldNotConnect(detail))
        case CURLE_OUT_OF_MEMORY where sawStatusLine:
            // libcurl refuses a single header line over 100 KiB this way.
            return .failure(.headersTooLarge("a header line of the reply exceeds libcurl's limit of 100 KiB"))
        default:
            return .failure(.transport(detail))
        }
    }
}
