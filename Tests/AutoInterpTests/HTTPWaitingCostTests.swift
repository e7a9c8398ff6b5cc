import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TestSupport
@testable import AutoInterp

import XCTest

/// The client must sleep while it waits for answers (issue 16, D3): with 64 requests in flight
/// against a local server that never answers, the process may use at most 0.05 CPU-seconds per
/// wall-second. `FEATURESCOPE_WAIT_SECONDS` lengthens the measured window (default 3 s).
final class HTTPWaitingCostTests: XCTestCase {
    /// User + system CPU seconds of this process so far.
    static func cpuSeconds() -> Double {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6
            + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    func testWaitingForSixtyFourAnswersSleeps() async throws {
        let window = Double(ProcessInfo.processInfo.environment["FEATURESCOPE_WAIT_SECONDS"] ?? "") ?? 3
        let inFlight = 64
        let server = try LocalHTTPServer(replies: Array(repeating: .hang(seconds: window + 30), count: inFlight),
                                         lifetime: window + 30)
        let config = OpenAIClientConfiguration(baseURL: server.baseURL, model: "m", requestTimeout: window + 20, maxAttempts: 1,
                                               maxConcurrentRequests: inFlight)
        let client = try OpenAIClient(configuration: config, environment: [:])
        let request = ChatRequest(messages: [.user("u")], temperature: 0, maxTokens: 4)
        let tasks = (0 ..< inFlight).map { _ in Task { try? await client.complete(request) } }
        let arrival = Date().addingTimeInterval(20)
        while server.requests.count < inFlight, Date() < arrival { try await Task.sleep(nanoseconds: 50_000_000) }
        XCTAssertEqual(server.requests.count, inFlight, "all requests reach the server")
        try await Task.sleep(nanoseconds: 300_000_000)
        let cpu0 = Self.cpuSeconds(), wall0 = Date()
        try await Task.sleep(nanoseconds: UInt64(window * 1e9))
        let cpu = Self.cpuSeconds() - cpu0, wall = Date().timeIntervalSince(wall0)
        server.stop()
        for t in tasks { _ = await t.value }
        let perSecond = cpu / wall
        print(String(format: "waiting with %d requests in flight: %.3f CPU-s over %.1f s wall = %.4f CPU-s per s", inFlight, cpu, wall, perSecond))
        XCTAssertLessThanOrEqual(perSecond, 0.05, "the HTTP client busy-waits")
    }
}
