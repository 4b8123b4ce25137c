import Foundation
import Testing
@testable import KenpoCore

/// Results in job order whatever the scheduling, errors of `next` after the jobs before them, and a
/// slow `next` that does not hold up the workers and the consumer.
struct OrderedParallelMapTests {
    final class Box<T>: @unchecked Sendable {
        let lock = NSLock()
        var value: T
        init(_ v: T) { value = v }
        func with<R>(_ body: (inout T) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
    }

    @Test(arguments: [1, 2, 4]) func resultsComeInJobOrder(_ workers: Int) throws {
        var got: [Int] = []
        try OrderedParallelMap.run(count: 1000, workers: workers, window: 8, makeWorker: {
            { i in
                if i % 7 == 0 { usleep(100) }
                return i * 2
            }
        }, consume: { i, r in
            #expect(r == i * 2)
            got.append(i)
        })
        #expect(got == Array(0..<1000))
    }

    struct Stop: Error {}

    @Test(arguments: [1, 3]) func anErrorOfNextIsThrownAfterTheJobsBeforeIt(_ workers: Int) {
        let produced = Box(0)
        var consumed: [Int] = []
        #expect(throws: Stop.self) {
            try OrderedParallelMap.run(workers: workers, window: 4, next: { () throws -> Int? in
                let n = produced.with { v -> Int in v += 1; return v - 1 }
                if n == 50 { throw Stop() }
                return n
            }, makeWorker: { _ in { $0 } }, consume: { j, r in consumed.append(r) })
        }
        #expect(consumed == Array(0..<50))
    }

    @Test func anErrorOfConsumeStopsTheWorkers() {
        var consumed = 0
        #expect(throws: Stop.self) {
            try OrderedParallelMap.run(count: 10_000, workers: 3, window: 8, makeWorker: { { $0 } }, consume: { i, _ in
                consumed += 1
                if i == 20 { throw Stop() }
            })
        }
        #expect(consumed == 21)
    }

    /// While `next` is busy (listing a big ZIP), the job before it is delivered and consumed: the
    /// producer does not hold the lock the workers and the consumer need.
    @Test func aSlowNextDoesNotBlockDeliveryOrConsumption() throws {
        let firstConsumed = DispatchSemaphore(value: 0)
        let waitedInVain = Box(false)
        let n = Box(0)
        try OrderedParallelMap.run(workers: 2, window: 8, next: { () -> Int? in
            let k = n.with { v -> Int in v += 1; return v - 1 }
            if k == 1 {
                // The second job is produced only once the first one was consumed.
                if firstConsumed.wait(timeout: .now() + 10) == .timedOut { waitedInVain.with { $0 = true } }
            }
            return k < 5 ? k : nil
        }, makeWorker: { _ in { j in
            if j == 0 { usleep(50_000) }   // the other worker is in `next` by then
            return j
        } }, consume: { j, _ in
            if j == 0 { firstConsumed.signal() }
        })
        #expect(waitedInVain.with { $0 } == false)
    }
}
