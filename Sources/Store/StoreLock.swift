import Foundation

/// An exclusive `flock` on `STORE.lock` beside the store: one writer per store. A separate file because on NFS
/// `flock` is emulated with the same byte-range locks SQLite takes on the database itself. The kernel drops the
/// lock when the process dies, whatever kills it.
final class StoreLock: @unchecked Sendable {
    private var fd: Int32

    init(storePath: String) throws {
        let lockPath = storePath + ".lock"
        // A local until the lock is held: once `fd` is set, a throw runs deinit, which would close the number a
        // second time, by then perhaps another thread's descriptor (libdispatch's epoll: SIGILL).
        let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StoreError.notAStore(storePath, "cannot create \(lockPath): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            var holder = [UInt8](repeating: 0, count: 64)
            let n = pread(descriptor, &holder, holder.count, 0)
            close(descriptor)
            let pid = String(decoding: holder.prefix(max(0, n)), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw StoreError.locked(storePath, pid.isEmpty ? "it holds \(lockPath)" : "pid \(pid) holds \(lockPath)")
        }
        fd = descriptor
        let pid = "\(getpid())\n"
        ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }
}
