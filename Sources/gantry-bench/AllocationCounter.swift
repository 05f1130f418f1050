#if os(Linux) && (arch(x86_64) || arch(arm64))
import Glibc
import Synchronization
#endif

// How it works (Linux, glibc, x86_64 or arm64)
//
// Every call that one ELF object (the executable, libswiftCore.so, libc.so.6, libstdc++...) makes to `malloc` in
// another goes through a slot of the caller's global offset table (GOT) that the dynamic linker filled with the
// address of glibc's `malloc`. On first use, `AllocationCounter` walks the loaded objects (`dl_iterate_phdr`), finds
// the relocations that fill those slots for `malloc`, `calloc`, `realloc`, `posix_memalign`, `aligned_alloc` and
// `memalign`, and writes the addresses of counting wrappers into them. The wrappers bump an atomic counter and
// forward to glibc under its second, internal-but-exported names (`__libc_malloc`...), which are never redirected,
// so a wrapper never calls itself. `free` is left alone: blocks still come from, and go back to, glibc.
//
// Why not simply define `malloc` in the executable with `@_cdecl("malloc")`, as an LD_PRELOAD library would? Swift
// 6.3 rejects it: "symbol name 'malloc' is reserved for the Swift runtime" is a warning without a diagnostic group,
// so under `treatAllWarnings(as: .error)` it is an error that cannot be downgraded. (`free` is reserved too; the
// other four names are not, but one mechanism for all six keeps the behaviour uniform.) Patching the GOT reaches
// the same call sites, with the dynamic and the static (`--static-swift-stdlib`) Swift runtime alike.

/// Counts heap allocations made by the whole process while `body` runs.
///
/// Every call to `malloc`, `calloc`, `realloc`, `posix_memalign`, `aligned_alloc` or `memalign` counts as one
/// allocation, wherever it comes from: the Swift runtime (class instances, arrays, strings, boxes, closure contexts,
/// `UnsafeMutableRawPointer.allocate`), libc itself (`strdup`, `fopen`...), libstdc++ or Dispatch. A `realloc` counts
/// whether it grows, moves or frees; `free` is not counted. The count is process-wide: allocations that other threads
/// make while `body` runs are included, exactly (the counter is atomic).
///
/// Works on Linux with glibc on x86_64 and arm64. Elsewhere, or when the process allocates through another allocator
/// (an `LD_PRELOAD`ed jemalloc, say), `isActive` is `false` and `count` reports zero allocations.
enum AllocationCounter {
    /// `true` when counting really works in this binary: the hooks are installed, and a probe allocation made by the
    /// Swift runtime and one made inside libc were both counted.
    static var isActive: Bool {
        #if os(Linux) && (arch(x86_64) || arch(arm64))
        return probeSucceeded
        #else
        return false
        #endif
    }

    /// Runs `body` and returns its result with the number of heap allocations the process made meanwhile.
    ///
    /// The number is `0` when `isActive` is `false`. Calls may nest and may run on several threads at once; each sees
    /// every allocation of the process during its own window. Apart from the first call, and the first call after a
    /// library was loaded or unloaded, `count` itself allocates nothing.
    static func count<T>(_ body: () throws -> T) rethrows -> (result: T, allocations: Int) {
        #if os(Linux) && (arch(x86_64) || arch(arm64))
        guard isActive else {
            return (try body(), 0)
        }
        // Redirects libraries loaded since the last call, and restores any slot a racing lazy binding overwrote.
        _ = GOTPatcher.patchLoadedObjects()
        let before = allocationTally.load(ordering: .relaxed)
        let result = try body()
        let after = allocationTally.load(ordering: .relaxed)
        return (result, after &- before)
        #else
        return (try body(), 0)
        #endif
    }

    #if os(Linux) && (arch(x86_64) || arch(arm64))
    /// Installs the hooks, then checks that both a Swift runtime allocation and a libc-internal allocation are counted.
    /// Computed once, on first use.
    private static let probeSucceeded: Bool = {
        guard GOTPatcher.patchLoadedObjects(), let duplicateAddress = dlsym(nil, "strdup") else {
            return false
        }
        // strdup's malloc is a call inside libc, through libc's own GOT. It is called through a pointer from dlsym
        // because the optimizer knows strdup and deletes a strdup/free pair; the C string is on the stack so that
        // nothing else allocates.
        let duplicate = unsafeBitCast(duplicateAddress, to: DuplicateFunction.self)
        var text: (CChar, CChar) = (65, 0)
        let start = allocationTally.load(ordering: .relaxed)
        let memory = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        let middle = allocationTally.load(ordering: .relaxed)
        let copy = withUnsafePointer(to: &text.0) { duplicate($0) }
        let end = allocationTally.load(ordering: .relaxed)
        memory.deallocate()
        free(copy)
        return middle &- start >= 1 && end &- middle >= 1
    }()
    #endif
}

#if os(Linux) && (arch(x86_64) || arch(arm64))

// MARK: - The counter

/// The number of allocator calls seen since the hooks were installed, wrapping on overflow.
///
/// Why touching it from inside `malloc` is safe:
/// - `Atomic<Int>` is one 8-byte word, and `wrappingAdd(_:ordering:)` compiles to a single `lock xadd` on x86_64 (an
///   atomic add on arm64): no lock, no call into the Swift runtime, no allocation, and exact under concurrency.
/// - It is a `let`, so accesses carry no dynamic exclusivity check. A `nonisolated(unsafe) var` would call
///   `swift_beginAccess`/`swift_endAccess` on every access, in release builds too; those keep per-thread state in
///   thread-local storage, which a thread's first access may have to allocate: recursion into `malloc`.
/// - Optimized builds initialize it statically: the global is a zero word in `.bss` and no `swift_once` is emitted,
///   so the hook is just the atomic add and the forwarding call (checked in the generated IR).
/// - Debug builds (-Onone) initialize it lazily through `swift_once`. `GOTPatcher` reads it before it installs any
///   hook, so by the time a hook runs the once-token is set, and `swift_once` is a single acquire load that returns.
private let allocationTally = Atomic<Int>(0)

/// Records one allocator call. Must stay free of allocation, locks and Swift runtime calls (see `allocationTally`).
@inline(__always)
private func recordAllocation() {
    allocationTally.wrappingAdd(1, ordering: .relaxed)
}

// MARK: - glibc's allocator, under its internal names

// These are declared with `@_silgen_name`, that is with Swift's calling convention rather than C's. For functions
// that take at most four integers or pointers and return one (no `self`, error or async context), Swift passes them
// in the same registers as C does on x86_64 and arm64, which is one reason the hooks are limited to those.

/// glibc's `malloc` (the same function; `malloc` is an alias).
@_silgen_name("__libc_malloc")
private func libcMalloc(_ size: Int) -> UnsafeMutableRawPointer?

/// glibc's `calloc`.
@_silgen_name("__libc_calloc")
private func libcCalloc(_ count: Int, _ size: Int) -> UnsafeMutableRawPointer?

/// glibc's `realloc`.
@_silgen_name("__libc_realloc")
private func libcRealloc(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer?

/// glibc's `memalign`, which its `aligned_alloc` and `posix_memalign` also use underneath.
@_silgen_name("__libc_memalign")
private func libcMemalign(_ alignment: Int, _ size: Int) -> UnsafeMutableRawPointer?

/// `dl_iterate_phdr` from `<link.h>`, which the Glibc module does not import (two pointers in, an `int` out).
@_silgen_name("dl_iterate_phdr")
private func iterateLoadedObjects(
    _ callback: @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Int32,
    _ context: UnsafeMutableRawPointer?
) -> Int32

// MARK: - The hooks

/// The C type of `malloc`.
private typealias MallocFunction = @convention(c) (Int) -> UnsafeMutableRawPointer?

/// The C type of `calloc`, `memalign` and `aligned_alloc`.
private typealias TwoSizeFunction = @convention(c) (Int, Int) -> UnsafeMutableRawPointer?

/// The C type of `realloc`.
private typealias ReallocFunction = @convention(c) (UnsafeMutableRawPointer?, Int) -> UnsafeMutableRawPointer?

/// The C type of `posix_memalign`.
private typealias PosixMemalignFunction =
    @convention(c) (UnsafeMutablePointer<UnsafeMutableRawPointer?>?, Int, Int) -> Int32

/// The C type of `strdup`, for the probe.
private typealias DuplicateFunction = @convention(c) (UnsafePointer<CChar>?) -> UnsafeMutablePointer<CChar>?

/// Counting replacement for `malloc`.
private func countingMalloc(_ size: Int) -> UnsafeMutableRawPointer? {
    recordAllocation()
    return libcMalloc(size)
}

/// Counting replacement for `calloc`.
private func countingCalloc(_ count: Int, _ size: Int) -> UnsafeMutableRawPointer? {
    recordAllocation()
    return libcCalloc(count, size)
}

/// Counting replacement for `realloc`: every call counts, whether it allocates, resizes, moves or frees.
private func countingRealloc(_ pointer: UnsafeMutableRawPointer?, _ size: Int) -> UnsafeMutableRawPointer? {
    recordAllocation()
    return libcRealloc(pointer, size)
}

/// Counting replacement for `memalign`.
private func countingMemalign(_ alignment: Int, _ size: Int) -> UnsafeMutableRawPointer? {
    recordAllocation()
    return libcMemalign(alignment, size)
}

/// Counting replacement for `aligned_alloc`, with the semantics of glibc 2.38 and later: an alignment that is not a
/// power of two fails with `EINVAL`. (Older glibc made `aligned_alloc` an alias of `memalign`, which rounds such an
/// alignment up; C17 allows either.)
private func countingAlignedAlloc(_ alignment: Int, _ size: Int) -> UnsafeMutableRawPointer? {
    recordAllocation()
    guard alignment > 0, alignment & (alignment - 1) == 0 else {
        errno = EINVAL
        return nil
    }
    return libcMemalign(alignment, size)
}

/// Counting replacement for `posix_memalign`, with glibc's checks: the alignment must be a power of two and a multiple
/// of the pointer size (else `EINVAL`); `*result` is written only on success.
private func countingPosixMemalign(
    _ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
    _ alignment: Int,
    _ size: Int
) -> Int32 {
    recordAllocation()
    let pointerSize = MemoryLayout<UnsafeRawPointer>.size
    let words = alignment / pointerSize
    guard alignment % pointerSize == 0, words > 0, words & (words - 1) == 0 else {
        return EINVAL
    }
    guard let memory = libcMemalign(alignment, size) else {
        return ENOMEM
    }
    result?.pointee = memory
    return 0
}

// MARK: - Redirecting the GOT slots

/// One allocator function to redirect: its symbol name and the address of its counting replacement.
private struct Hook: Sendable {
    /// The symbol name.
    let name: StaticString
    /// The address of the counting replacement.
    let replacement: UInt
}

/// A GOT slot that was redirected, remembered so that later passes can check it cheaply.
private struct PatchedSlot {
    /// The slot's address.
    let address: UInt
    /// The replacement's address: the value the slot must hold.
    let value: UInt
    /// Whether the slot's page was made read-only by the dynamic linker (RELRO) and must be unprotected to write it.
    let isReadOnly: Bool
}

/// What the patcher keeps between passes, guarded by `GOTPatcher.state`, and hands to the `dl_iterate_phdr` callback.
private struct PatchState {
    /// `dlpi_adds` and `dlpi_subs` (objects loaded and unloaded so far) at the last full pass.
    var generation: (adds: UInt64, subs: UInt64)?
    /// Every slot redirected by the last full pass.
    var slots: [PatchedSlot] = []
    /// Slots that could not be written during the current or last pass.
    var failures = 0
    /// Whether the callback has not yet been called in the current pass.
    var atFirstObject = true
    /// The system page size, for `mprotect`.
    let pageSize = UInt(sysconf(Int32(_SC_PAGESIZE)))
}

/// Installs the hooks into every loaded ELF object and keeps them installed.
private enum GOTPatcher {
    /// The patcher's state. Its lock also serializes passes: two concurrent passes could otherwise re-protect a page
    /// while the other is writing to it. Hooks never take it.
    static let state = Mutex(PatchState())

    /// The functions to redirect, with their replacements' addresses.
    static let hooks: [Hook] = {
        let malloc: MallocFunction = countingMalloc
        let calloc: TwoSizeFunction = countingCalloc
        let realloc: ReallocFunction = countingRealloc
        let memalign: TwoSizeFunction = countingMemalign
        let alignedAlloc: TwoSizeFunction = countingAlignedAlloc
        let posixMemalign: PosixMemalignFunction = countingPosixMemalign
        return [
            Hook(name: "malloc", replacement: unsafeBitCast(malloc, to: UInt.self)),
            Hook(name: "calloc", replacement: unsafeBitCast(calloc, to: UInt.self)),
            Hook(name: "realloc", replacement: unsafeBitCast(realloc, to: UInt.self)),
            Hook(name: "memalign", replacement: unsafeBitCast(memalign, to: UInt.self)),
            Hook(name: "aligned_alloc", replacement: unsafeBitCast(alignedAlloc, to: UInt.self)),
            Hook(name: "posix_memalign", replacement: unsafeBitCast(posixMemalign, to: UInt.self)),
        ]
    }()

    /// Whether `malloc` and the other allocator functions resolve into the object that defines `__libc_malloc`, so
    /// that forwarding to the `__libc_` functions keeps every block in the allocator that will free it. An
    /// `LD_PRELOAD`ed allocator fails this check, and the hooks are then never installed.
    static let allocatorIsGlibc: Bool = {
        guard let reference = dlsym(nil, "__libc_malloc"), let home = loadedObject(containing: reference) else {
            return false
        }
        for name in ["malloc", "calloc", "realloc", "memalign", "aligned_alloc", "posix_memalign", "free"] {
            guard let address = dlsym(nil, name), loadedObject(containing: address) == home else {
                return false
            }
        }
        return true
    }()

    /// Makes every loaded object's allocator slots point at the hooks. Returns `false` when the process does not
    /// allocate through glibc or a slot could not be written.
    ///
    /// When no object was loaded or unloaded since the last full pass, this only re-checks the remembered slots (a
    /// lazy binding racing with a pass may have overwritten one) and allocates nothing, so calls may nest.
    static func patchLoadedObjects() -> Bool {
        guard allocatorIsGlibc else {
            return false
        }
        return state.withLock { state in
            if state.generation == nil {
                // Before the first hook can run: initialize the counter, bind the forwarding functions' lazy PLT
                // entries and build the hook table, so that nothing a hook touches needs initializing any more.
                _ = allocationTally.load(ordering: .relaxed)
                free(libcRealloc(libcCalloc(1, 1), 2))
                free(libcMalloc(1))
                free(libcMemalign(64, 1))
                _ = hooks
            }
            state.atFirstObject = true
            // The callback runs with the dynamic linker's lock held: no object is unloaded while its slots are
            // checked or written.
            _ = withUnsafeMutablePointer(to: &state) { iterateLoadedObjects(patchObject, $0) }
            return state.failures == 0
        }
    }

    /// The identity (program headers' address) of the loaded object whose segments contain `address`.
    private static func loadedObject(containing address: UnsafeMutableRawPointer) -> UInt? {
        var search: (address: UInt, object: UInt?) = (UInt(bitPattern: address), nil)
        _ = withUnsafeMutablePointer(to: &search) { pointer in
            iterateLoadedObjects(
                { info, _, context in
                    guard let info, let search = context?.assumingMemoryBound(to: (address: UInt, object: UInt?).self)
                    else {
                        return 1
                    }
                    let object = LoadedObject(info, size: 0)
                    for header in object.programHeaders where header.p_type == UInt32(PT_LOAD) {
                        let start = object.base &+ UInt(header.p_vaddr)
                        if search.pointee.address >= start && search.pointee.address - start < UInt(header.p_memsz) {
                            search.pointee.object = UInt(bitPattern: object.programHeaders.baseAddress)
                            return 1
                        }
                    }
                    return 0
                },
                pointer
            )
        }
        return search.object
    }
}

/// The `dl_iterate_phdr` callback of `GOTPatcher.patchLoadedObjects()`; `context` points at the `PatchState`.
///
/// On the first object it compares the load generation with the last full pass: if unchanged, it re-checks the
/// remembered slots and stops; otherwise it starts a full pass, redirecting each object's slots in turn. Returns 0 to
/// be called for the next object, 1 to stop.
private func patchObject(_ info: UnsafeMutableRawPointer?, _ size: Int, _ context: UnsafeMutableRawPointer?) -> Int32 {
    guard let info, let state = context?.assumingMemoryBound(to: PatchState.self) else {
        return 1
    }
    let object = LoadedObject(info, size: size)
    if state.pointee.atFirstObject {
        state.pointee.atFirstObject = false
        if let current = object.generation, let last = state.pointee.generation, current == last {
            state.pointee.failures = recheck(state.pointee.slots, pageSize: state.pointee.pageSize)
            return 1
        }
        // Without dlpi_adds/dlpi_subs (glibc before 2.4) every pass is a full one.
        state.pointee.generation = object.generation ?? (0, 0)
        state.pointee.slots.removeAll()
        state.pointee.failures = 0
    }
    guard let dynamic = object.dynamicSection else {
        return 0
    }
    for table in dynamic.relocationTables {
        for relocation in table where isCallSlot(relocation) {
            let name = dynamic.symbolName(at: Int(truncatingIfNeeded: relocation.r_info >> 32))
            guard let hook = GOTPatcher.hooks.first(where: { matches(name, $0.name) }) else {
                continue
            }
            let address = object.base &+ UInt(relocation.r_offset)
            let slot = PatchedSlot(
                address: address,
                value: hook.replacement,
                isReadOnly: object.isWriteProtected(address, pageSize: state.pointee.pageSize)
            )
            state.pointee.slots.append(slot)
            if !write(slot, pageSize: state.pointee.pageSize) {
                state.pointee.failures += 1
            }
        }
    }
    return 0
}

/// Rewrites any of `slots` that no longer holds its replacement; returns how many could not be written.
///
/// Iterates through a buffer pointer and an index because this path must allocate nothing: in debug builds, a
/// `for`-`in` loop over the array itself runs unspecialized generic code whose read coroutines allocate.
private func recheck(_ slots: [PatchedSlot], pageSize: UInt) -> Int {
    slots.withUnsafeBufferPointer { slots in
        var failures = 0
        var index = 0
        while index < slots.count {
            if !write(slots[index], pageSize: pageSize) {
                failures += 1
            }
            index += 1
        }
        return failures
    }
}

/// Whether a relocation fills a GOT slot that code calls through: `JUMP_SLOT` (PLT entries, lazy or not) or
/// `GLOB_DAT` (`-fno-plt` calls, and glibc's own calls to `malloc`).
private func isCallSlot(_ relocation: Elf64_Rela) -> Bool {
    let type = UInt32(truncatingIfNeeded: relocation.r_info)
    #if arch(x86_64)
    return type == UInt32(R_X86_64_JUMP_SLOT) || type == UInt32(R_X86_64_GLOB_DAT)
    #else
    return type == UInt32(R_AARCH64_JUMP_SLOT) || type == UInt32(R_AARCH64_GLOB_DAT)
    #endif
}

/// Whether the C string `name` equals `expected`.
private func matches(_ name: UnsafePointer<CChar>, _ expected: StaticString) -> Bool {
    let length = expected.utf8CodeUnitCount
    let samePrefix = expected.withUTF8Buffer { bytes in
        bytes.withMemoryRebound(to: CChar.self) { characters in
            characters.baseAddress.map { strncmp(name, $0, length) == 0 } ?? false
        }
    }
    return samePrefix && name[length] == 0
}

/// Makes `slot` hold its replacement, briefly making its page writable if the dynamic linker made it read-only.
/// Returns `false` if the page could not be made writable. Allocates nothing.
private func write(_ slot: PatchedSlot, pageSize: UInt) -> Bool {
    guard let pointer = UnsafeMutablePointer<UInt>(bitPattern: slot.address) else {
        return false
    }
    if pointer.pointee == slot.value {
        return true
    }
    let page = UnsafeMutableRawPointer(bitPattern: slot.address & ~(pageSize - 1))
    if slot.isReadOnly && mprotect(page, Int(pageSize), PROT_READ | PROT_WRITE) != 0 {
        return false
    }
    // An aligned 8-byte store: a thread calling through the slot meanwhile jumps to either the old or the new target,
    // both of which allocate correctly.
    pointer.pointee = slot.value
    if slot.isReadOnly {
        _ = mprotect(page, Int(pageSize), PROT_READ)
    }
    return true
}

/// A loaded ELF object as `dl_iterate_phdr` describes it, read from `struct dl_phdr_info` (`<link.h>`, 64-bit layout:
/// `dlpi_addr` at 0, `dlpi_name` at 8, `dlpi_phdr` at 16, `dlpi_phnum` at 24, `dlpi_adds` at 32, `dlpi_subs` at 40).
private struct LoadedObject {
    /// `dlpi_addr`: the difference between run-time and link-time addresses.
    let base: UInt
    /// `dlpi_phdr` and `dlpi_phnum`: the program headers.
    let programHeaders: UnsafeBufferPointer<Elf64_Phdr>
    /// `dlpi_adds` and `dlpi_subs`, when the structure is long enough to have them.
    let generation: (adds: UInt64, subs: UInt64)?

    /// Reads the `struct dl_phdr_info` at `info`, which is `size` bytes long.
    init(_ info: UnsafeMutableRawPointer, size: Int) {
        base = info.load(fromByteOffset: 0, as: UInt.self)
        let headers = info.load(fromByteOffset: 16, as: UnsafePointer<Elf64_Phdr>?.self)
        let count = info.load(fromByteOffset: 24, as: UInt16.self)
        programHeaders = UnsafeBufferPointer(start: headers, count: headers == nil ? 0 : Int(count))
        if size >= 48 {
            let adds = info.load(fromByteOffset: 32, as: UInt64.self)
            let subs = info.load(fromByteOffset: 40, as: UInt64.self)
            generation = (adds, subs)
        } else {
            generation = nil
        }
    }

    /// The object's dynamic section, if it has one with a symbol and a string table.
    var dynamicSection: DynamicSection? {
        guard let header = programHeaders.first(where: { $0.p_type == UInt32(PT_DYNAMIC) }),
            let entries = UnsafePointer<Elf64_Dyn>(bitPattern: base &+ UInt(header.p_vaddr))
        else {
            return nil
        }
        return DynamicSection(entries, base: base)
    }

    /// Whether the dynamic linker made the page holding `address` read-only. It protects `PT_GNU_RELRO` from its start
    /// rounded down to its end rounded down to a page: a partial last page stays writable.
    func isWriteProtected(_ address: UInt, pageSize: UInt) -> Bool {
        programHeaders.contains { header in
            guard header.p_type == UInt32(PT_GNU_RELRO) else {
                return false
            }
            let start = (base &+ UInt(header.p_vaddr)) & ~(pageSize - 1)
            let end = (base &+ UInt(header.p_vaddr) &+ UInt(header.p_memsz)) & ~(pageSize - 1)
            return address >= start && address < end
        }
    }
}

/// The parts of an object's `PT_DYNAMIC` entries that locate its relocations and their symbols' names.
private struct DynamicSection {
    /// `DT_SYMTAB`.
    let symbols: UnsafePointer<Elf64_Sym>
    /// `DT_STRTAB`.
    let strings: UnsafePointer<CChar>
    /// `DT_JMPREL`/`DT_PLTRELSZ` (when `DT_PLTREL` is `DT_RELA`) and `DT_RELA`/`DT_RELASZ`.
    let relocationTables: [UnsafeBufferPointer<Elf64_Rela>]

    /// Reads the entries up to `DT_NULL`. glibc rewrites the address entries to run-time addresses when it loads an
    /// object, except where the section is read-only (the vDSO): a value below `base` is taken as still relative.
    init?(_ entries: UnsafePointer<Elf64_Dyn>, base: UInt) {
        var values: [Int64: UInt] = [:]
        var entry = entries
        while entry.pointee.d_tag != Int64(DT_NULL) {
            values[entry.pointee.d_tag] = UInt(entry.pointee.d_un.d_ptr)
            entry += 1
        }
        /// The run-time address that entry `tag` holds.
        func address(_ tag: Int32) -> UInt? {
            values[Int64(tag)].map { $0 < base ? base &+ $0 : $0 }
        }
        /// The relocation table that entries `start` (its address) and `size` (its length in bytes) describe.
        func table(_ start: Int32, _ size: Int32) -> UnsafeBufferPointer<Elf64_Rela>? {
            guard let first = address(start).flatMap({ UnsafePointer<Elf64_Rela>(bitPattern: $0) }),
                let bytes = values[Int64(size)]
            else {
                return nil
            }
            return UnsafeBufferPointer(start: first, count: Int(bytes) / MemoryLayout<Elf64_Rela>.stride)
        }
        guard let symbols = address(DT_SYMTAB).flatMap({ UnsafePointer<Elf64_Sym>(bitPattern: $0) }),
            let strings = address(DT_STRTAB).flatMap({ UnsafePointer<CChar>(bitPattern: $0) })
        else {
            return nil
        }
        self.symbols = symbols
        self.strings = strings
        var tables: [UnsafeBufferPointer<Elf64_Rela>] = []
        if values[Int64(DT_PLTREL)] == UInt(DT_RELA), let plt = table(DT_JMPREL, DT_PLTRELSZ) {
            tables.append(plt)
        }
        if let data = table(DT_RELA, DT_RELASZ) {
            tables.append(data)
        }
        relocationTables = tables
    }

    /// The name of symbol number `index`.
    func symbolName(at index: Int) -> UnsafePointer<CChar> {
        strings + Int(symbols[index].st_name)
    }
}

#endif
