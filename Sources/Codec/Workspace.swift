import Concurrency
/// Per-worker scratch memory: a bump allocator over one contiguous block. Components take buffers
/// inside `scope { }` and give them back when it ends. A longer utterance than any before may overflow
/// into extra chunks, freed with their scope; the next `reset` grows the block to the peak it saw, so a
/// worker stops allocating once it has seen its longest input.
public final class Workspace {
    private var block: UnsafeMutablePointer<Float>
    private var capacity: Int
    private var top = 0
    /// Chunks taken beyond the block, innermost last, with their sizes; freed when their scope ends.
    private var overflow: [(pointer: UnsafeMutablePointer<Float>, count: Int)] = []
    private var overflowFloats = 0
    public private(set) var highWater = 0
    /// Threads this worker may use for its own (non-BLAS) loops; match the BLAS threads it was given.
    public var threads = 1
    /// Whether this worker is the only one calling BLAS, so that it may set OpenBLAS's process-wide thread count for
    /// a while (`Parallel.blasItems`). False for the workers of a multi-worker run.
    public var ownsBLASThreads = true

    public init(capacity: Int = 1 << 20, threads: Int = 1) {
        self.capacity = capacity
        self.threads = threads
        block = .allocate(capacity: capacity)
    }

    deinit {
        block.deallocate()
        for chunk in overflow { chunk.pointer.deallocate() }
    }

    /// `count` floats, 16-float aligned within the block, uninitialised.
    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let rounded = (count + 15) & ~15
        if top + rounded <= capacity {
            defer { top += rounded; highWater = max(highWater, top) }
            return block + top
        }
        let chunk = UnsafeMutablePointer<Float>.allocate(capacity: rounded)
        overflow.append((chunk, rounded))
        overflowFloats += rounded
        highWater = max(highWater, top + overflowFloats)
        return chunk
    }

    /// Zero-filled `count` floats.
    func takeZeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = take(count)
        p.initialize(repeating: 0, count: count)
        return p
    }

    /// Runs `body`; every buffer taken inside it is released afterwards.
    func scope<R>(_ body: () throws -> R) rethrows -> R {
        let mark = top, chunks = overflow.count
        defer {
            top = mark
            while overflow.count > chunks {
                let chunk = overflow.removeLast()
                chunk.pointer.deallocate()
                overflowFloats -= chunk.count
            }
        }
        return try body()
    }

    /// Between utterances: grows the block to hold everything the last one needed.
    func reset() {
        top = 0
        for chunk in overflow { chunk.pointer.deallocate() }
        overflow.removeAll()
        overflowFloats = 0
        guard highWater > capacity else { return }
        let needed = highWater + highWater / 8
        block.deallocate()
        capacity = needed
        block = .allocate(capacity: capacity)
    }

    public var bytes: Int { capacity * MemoryLayout<Float>.stride }
}
