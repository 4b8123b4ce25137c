import Foundation

/// Runs `count` independent jobs on `workers` threads and hands their results to `consume` on the
/// calling thread in job order — deterministic output whatever the scheduling. At most `window`
/// results wait to be consumed, so memory stays bounded however many jobs there are.
public enum OrderedParallelMap {
    public static func run<T>(count: Int, workers: Int, window: Int = 64,
                              makeWorker: @escaping () -> (Int) -> T,
                              consume: (Int, T) throws -> Void) throws {
        guard count > 0 else { return }
        let workerCount = max(1, min(workers, count))
        if workerCount == 1 {
            let work = makeWorker()
            for i in 0..<count { try consume(i, work(i)) }
            return
        }
        let state = SharedState<T>(window: max(window, workerCount * 2))
        var threads: [Thread] = []
        for _ in 0..<workerCount {
            let t = Thread {
                let work = makeWorker()
                while let i = state.claim(count: count) {
                    let r = work(i)
                    state.deliver(i, r)
                }
                state.workerDone()
            }
            t.stackSize = 4 << 20
            threads.append(t)
            t.start()
        }
        var failure: Error?
        for i in 0..<count {
            let r = state.take(i)
            if failure == nil {
                do { try consume(i, r) } catch { failure = error; state.cancel() }
            }
            if failure != nil { break }
        }
        state.waitForWorkers(workerCount)
        if let failure { throw failure }
    }

    private final class SharedState<T> {
        let cond = NSCondition()
        var next = 0
        var consumed = 0
        var results: [Int: T] = [:]
        var cancelled = false
        var finished = 0
        let window: Int

        init(window: Int) { self.window = window }

        func claim(count: Int) -> Int? {
            cond.lock(); defer { cond.unlock() }
            while !cancelled && next < count && next >= consumed + window { cond.wait() }
            guard !cancelled, next < count else { return nil }
            next += 1
            return next - 1
        }

        func deliver(_ i: Int, _ r: T) {
            cond.lock()
            results[i] = r
            cond.broadcast()
            cond.unlock()
        }

        func take(_ i: Int) -> T {
            cond.lock(); defer { cond.unlock() }
            while results[i] == nil { cond.wait() }
            consumed = i + 1
            cond.broadcast()
            return results.removeValue(forKey: i)!
        }

        func cancel() {
            cond.lock(); cancelled = true; cond.broadcast(); cond.unlock()
        }

        func workerDone() {
            cond.lock(); finished += 1; cond.broadcast(); cond.unlock()
        }

        func waitForWorkers(_ n: Int) {
            cond.lock()
            cancelled = true
            cond.broadcast()
            while finished < n { cond.wait() }
            cond.unlock()
        }
    }
}
