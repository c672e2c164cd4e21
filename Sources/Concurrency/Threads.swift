import Foundation
import Synchronization

/// Set from a signal handler; read by the pipeline to stop taking work.
public enum StopSignal {
    /// The signal that asked the run to stop, 0 while none did. Atomic: the handler writes it while every
    /// worker thread reads it.
    private static let state = Atomic<Int32>(0)

    public static var received: Int32 { state.load(ordering: .relaxed) }
    public static var requested: Bool { received != 0 }

    /// Stops the run as SIGINT or SIGTERM would (used when the writer fails).
    public static func request(_ signal: Int32) { state.store(signal, ordering: .relaxed) }

    /// SIGINT and SIGTERM stop the run gracefully; a second one ends the process at once.
    public static func install() {
        _ = received  // the static is initialised here, not inside the handler
        let handler: @convention(c) (Int32) -> Void = { signal in
            if StopSignal.state.exchange(signal, ordering: .relaxed) != 0 { _exit(128 + signal) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
    }
}

/// A POSIX thread that runs `body` once and must be joined. Unlike `Thread` + `DispatchGroup`, `join()`
/// returns only after the thread has ended and released everything `body` captured.
public final class WorkerThread {
    private var handle = pthread_t()

    /// `name` (15 bytes at most) shows in /proc/PID/task/*/comm, in `top -H` and in core dumps.
    public init(name: String, stackSize: Int = 8 << 20, _ body: @escaping @Sendable () -> Void) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setstacksize(&attributes, stackSize)
        let box = Unmanaged.passRetained(
            ClosureBox {
                Thread.current.name = name  // sets the kernel thread name (comm) on Linux
                body()
            }
        ).toOpaque()
        let status = pthread_create(
            &handle, &attributes,
            { raw in
                let box = Unmanaged<ClosureBox>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        precondition(status == 0, "pthread_create failed: \(status)")
    }

    public func join() { pthread_join(handle, nil) }

    private final class ClosureBox {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}
