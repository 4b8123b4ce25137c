import Foundation

/// Runs independent jobs on `workers` threads and hands their results to `consume` on the calling
/// thread in job order — deterministic output whatever the scheduling. At most `window` results
/// wait to be consumed, so memory stays bounded however many jobs there are.
public enum OrderedParallelMap {
    /// Jobs `0..<count`.
    public static func run<T>(count: Int, workers: Int, window: Int = 64,
                              makeWorker: @escaping () -> (Int) -> T,
                              consume: (Int, T) throws -> Void) throws {
        var i = 0
        try run(workers: min(workers, max(count, 1)), window: window, next: { () -> Int? in
            guard i < count else { return nil }
            i += 1
            return i - 1
        }, makeWorker: { _ in makeWorker() }, consume: consume)
    }

    /// Jobs as `next` produces them (called in order, one call at a time, on whichever thread needs
    /// the next job; nil: no more). An error thrown by `next` is thrown by `run` once the jobs before
    /// it are consumed. `makeWorker` gets the worker's number (0 for the calling thread's only worker).
    public static func run<J, T>(workers: Int, window: Int = 64,
                                 next: @escaping () throws -> J?,
                                 makeWorker: @escaping (Int) -> (J) -> T,
                                 consume: (J, T) throws -> Void) throws {
        let workerCount = max(1, workers)
        if workerCount == 1 {
            let work = makeWorker(0)
            while let job = try next() { try consume(job, work(job)) }
            return
        }
        let state = SharedState<J, T>(window: max(window, workerCount * 2), next: next)
        var threads: [Thread] = []
        for w in 0..<workerCount {
            let t = Thread {
                let work = makeWorker(w)
                while let (i, job) = state.claim() {
                    let r = work(job)
                    state.deliver(i, job, r)
                }
                state.workerDone()
            }
            t.stackSize = 4 << 20
            threads.append(t)
            t.start()
        }
        var failure: Error?
        var i = 0
        while failure == nil, let (job, r) = state.take(i) {
            do { try consume(job, r) } catch { failure = error; state.cancel() }
            i += 1
        }
        state.waitForWorkers(workerCount)
        if let failure { throw failure }
        if let e = state.producerError { throw e }
    }

    /// Locks: `producing` is held by the one claimer calling `produce` (so jobs are produced in order,
    /// one call at a time) — `produce` may take long (listing a big ZIP hashes it) and runs without
    /// `cond`, so meanwhile the other workers deliver and the consumer takes. `cond` guards the
    /// counters and results and is only held briefly. Order: `producing`, then `cond`; never the other
    /// way round, and nobody waits for `producing` while holding `cond`. A worker waiting for
    /// `producing` holds no undelivered result, so the claimer waiting (in `cond`) for the window to
    /// move always gets there: the consumer takes the results before it without `producing`.
    private final class SharedState<J, T> {
        let cond = NSCondition()
        let producing = NSLock()
        let produce: () throws -> J?
        /// Jobs produced (`cond`; changed only by the holder of `producing`).
        var produced = 0
        var exhausted = false
        var producerError: Error?
        var consumed = 0
        var results: [Int: (J, T)] = [:]
        var cancelled = false
        var finished = 0
        let window: Int
        /// Who waits (a wake-up is a system call and a context switch: only when someone waits for it).
        var consumerWaitsFor = -1
        var claimersWaiting = 0
        /// Results that gather before the waiting consumer is woken, unless nothing more is being
        /// worked on: a wake-up per result was a context switch per document (8% of a 2-worker import).
        let batch: Int

        init(window: Int, next: @escaping () throws -> J?) {
            self.window = window; self.produce = next
            batch = max(1, min(8, window / 4))
        }

        func claim() -> (Int, J)? {
            producing.lock(); defer { producing.unlock() }
            cond.lock()
            while !cancelled && !exhausted && produced >= consumed + window {
                claimersWaiting += 1
                cond.wait()
                claimersWaiting -= 1
            }
            let stop = cancelled || exhausted
            cond.unlock()
            if stop { return nil }
            let job: J?
            var failure: Error? = nil
            do { job = try produce() } catch { job = nil; failure = error }
            cond.lock(); defer { cond.unlock() }
            guard let job else {
                if let failure { producerError = failure }
                exhausted = true
                cond.broadcast()
                return nil
            }
            produced += 1
            return (produced - 1, job)
        }

        func deliver(_ i: Int, _ job: J, _ r: T) {
            cond.lock()
            results[i] = (job, r)
            // Every pending result is at or after the one the consumer waits for.
            let c = consumerWaitsFor
            if c >= 0, results[c] != nil, results.count >= batch || results.count == produced - consumed { cond.broadcast() }
            cond.unlock()
        }

        /// Result `i`, or nil when every produced job has been taken.
        func take(_ i: Int) -> (J, T)? {
            cond.lock(); defer { cond.unlock() }
            while results[i] == nil && !(exhausted && i >= produced) && !cancelled {
                consumerWaitsFor = i
                cond.wait()
                consumerWaitsFor = -1
            }
            guard let r = results.removeValue(forKey: i) else { return nil }
            consumed = i + 1
            if claimersWaiting > 0 { cond.broadcast() }
            return r
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
