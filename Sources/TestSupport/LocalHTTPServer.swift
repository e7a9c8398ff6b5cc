import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny scripted HTTP/1.1 server on 127.0.0.1 for fault-handling tests.
///
/// Each accepted connection gets the next scripted `Reply` (then `fallback`, if any); every
/// connection is closed after its reply. The accept loop stops by itself after
/// `maxConnections` connections or `lifetime` seconds, whichever comes first, or on `stop()`.
public final class LocalHTTPServer: @unchecked Sendable {
    /// What the server does with one connection.
    public enum Reply: Sendable {
        /// A complete response (Content-Length set from the body).
        case respond(status: Int, headers: [String: String] = [:], body: String)
        /// Reads the request, then sends nothing for `seconds` (or until stopped) and closes.
        case hang(seconds: Double)
        /// Declares `declaredLength` bytes but sends only `body`, then closes.
        case truncated(status: Int = 200, declaredLength: Int, body: String)
        /// Closes the connection without answering.
        case close
    }

    /// One request as received.
    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: Data
    }

    /// Errors starting the server.
    public enum ServerError: Error, CustomStringConvertible {
        case socket(String)
        public var description: String {
            switch self { case .socket(let m): return "local HTTP server: \(m)" }
        }
    }

    public let port: UInt16
    public var baseURL: URL {
        URL(string: "http://127.0.0.1:\(port)/v1") ?? URL(fileURLWithPath: "/")
    }

    private let listenFD: Int32
    private let lock = NSLock()
    private var script: [Reply]
    private let fallback: Reply?
    private var received: [Request] = []
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)
    private let handlers = DispatchGroup()

    /// Starts listening on an ephemeral port.
    /// - Parameters:
    ///   - replies: one reply per connection, in order.
    ///   - fallback: reply for connections after the script ran out (nil: close them).
    ///   - maxConnections: connections accepted before the loop ends (default: script length + 20).
    ///   - lifetime: seconds after which the loop ends regardless.
    public init(replies: [Reply], fallback: Reply? = nil, maxConnections: Int? = nil, lifetime: Double = 30) throws {
        script = replies
        self.fallback = fallback
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerError.socket("socket(): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let m = String(cString: strerror(errno))
            close(fd)
            throw ServerError.socket("bind/listen: \(m)")
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        port = UInt16(bigEndian: addr.sin_port)
        listenFD = fd
        let limit = maxConnections ?? (replies.count + 20)
        let deadline = Date().addingTimeInterval(lifetime)
        let thread = Thread { [self] in acceptLoop(limit: limit, deadline: deadline) }
        thread.start()
    }

    deinit { stop() }

    /// A port on which nothing listens (bound, read, closed): connecting to it is refused.
    public static func unusedPort() throws -> UInt16 {
        let s = try LocalHTTPServer(replies: [], maxConnections: 0, lifetime: 0.1)
        let p = s.port
        s.stop()
        return p
    }

    /// Requests received so far.
    public var requests: [Request] {
        lock.lock(); defer { lock.unlock() }
        return received
    }

    /// Stops accepting, ends hanging replies, waits for connection handlers, closes the socket.
    public func stop() {
        lock.lock()
        let already = stopped
        stopped = true
        lock.unlock()
        if !already {
            finished.wait()
            handlers.wait()
            close(listenFD)
        }
    }

    private var isStopped: Bool {
        lock.lock(); defer { lock.unlock() }
        return stopped
    }

    private func acceptLoop(limit: Int, deadline: Date) {
        var accepted = 0
        while accepted < limit, !isStopped, Date() < deadline {
            var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 50) > 0 else { continue }
            let conn = accept(listenFD, nil, nil)
            guard conn >= 0 else { continue }
            accepted += 1
            lock.lock()
            let reply: Reply? = script.isEmpty ? fallback : script.removeFirst()
            lock.unlock()
            handlers.enter()
            Thread { [self] in
                handle(conn, reply: reply)
                handlers.leave()
            }.start()
        }
        // Stop accepting: later connections are refused.
        shutdown(listenFD, Int32(SHUT_RDWR))
        finished.signal()
    }

    private func handle(_ fd: Int32, reply: Reply?) {
        defer { close(fd) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if let request = readRequest(fd) {
            lock.lock(); received.append(request); lock.unlock()
        }
        switch reply {
        case .none, .close?:
            return
        case .respond(let status, let headers, let body)?:
            let bytes = Array(body.utf8)
            sendAll(fd, head(status: status, length: bytes.count, headers: headers) + bytes)
        case .truncated(let status, let declared, let body)?:
            sendAll(fd, head(status: status, length: declared, headers: [:]) + Array(body.utf8))
        case .hang(let seconds)?:
            // Sleeps in poll (cheap, so tests can measure the client's CPU while it waits);
            // ends early when the client hangs up.
            let end = Date().addingTimeInterval(seconds)
            var scratch = [UInt8](repeating: 0, count: 512)
            while Date() < end, !isStopped {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&pfd, 1, 100) > 0,
                   scratch.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, 0) }) <= 0 { return }
            }
        }
    }

    private func head(status: Int, length: Int, headers: [String: String]) -> [UInt8] {
        var h = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Status")\r\n"
        h += "Content-Type: application/json\r\nConnection: close\r\nContent-Length: \(length)\r\n"
        for (k, v) in headers.sorted(by: { $0.key < $1.key }) { h += "\(k): \(v)\r\n" }
        return Array((h + "\r\n").utf8)
    }

    private func sendAll(_ fd: Int32, _ bytes: [UInt8]) {
        var off = 0
        while off < bytes.count {
            #if os(Linux)
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            #else
            let n = bytes[off...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            #endif
            if n <= 0 { return }
            off += n
        }
    }

    /// Reads one request (headers + Content-Length body); nil if the client sends garbage or nothing.
    private func readRequest(_ fd: Int32) -> Request? {
        var buf: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let sep: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil, buf.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return nil }
            buf += chunk[0..<n]
            if buf.count >= 4 {
                for i in 0...(buf.count - 4) where Array(buf[i..<(i + 4)]) == sep { headerEnd = i; break }
            }
        }
        guard let end = headerEnd else { return nil }
        let headText = String(decoding: buf[0..<end], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let first = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for l in lines {
            guard let c = l.firstIndex(of: ":") else { continue }
            headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Array(buf[(end + 4)...])
        while body.count < length {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            body += chunk[0..<n]
        }
        return Request(method: first.first.map(String.init) ?? "", path: first.count > 1 ? String(first[1]) : "",
                       headers: headers, body: Data(body))
    }
}
