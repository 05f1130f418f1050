import Glibc

/// The one way `POSIXFileSystem` calls the C library: runs `body`, asks `failure` whether (and with which error
/// number) it failed, and
/// - retries on EINTR (unless `retryingInterrupts` is false: `close` must not be retried, Linux frees the
///   descriptor even when interrupted);
/// - traps on EBADF, which means a descriptor was used after `close` or never opened: a bug, not an environment
///   failure;
/// - throws `.posix(errno, call, path)` for everything else.
///
/// `path` is only evaluated on failure, so looking up a descriptor's path costs nothing on the fast path. There is
/// no would-block case: storage never opens a file O_NONBLOCK, so EAGAIN is thrown like any other error.
func systemCall<Result>(
    _ call: String,
    path: @autoclosure () -> String,
    retryingInterrupts: Bool = true,
    failure: (Result) -> Int32?,
    _ body: () -> Result
) throws(FileSystemError) -> Result {
    while true {
        let result = body()
        // `failure` runs right after `body`, before anything else can overwrite `errno`.
        guard let error = failure(result) else { return result }
        if error == EINTR && retryingInterrupts { continue }
        precondition(
            error != EBADF,
            "\(call) on '\(path())': bad file descriptor (used after close, or never opened by this file system)"
        )
        throw .posix(errno: error, call: call, path: path())
    }
}

/// `systemCall` for the usual convention: -1 means failure, the reason is in `errno`.
func systemCall<Result: FixedWidthInteger>(
    _ call: String,
    path: @autoclosure () -> String,
    retryingInterrupts: Bool = true,
    _ body: () -> Result
) throws(FileSystemError) -> Result {
    try systemCall(
        call,
        path: path(),
        retryingInterrupts: retryingInterrupts,
        failure: { $0 == -1 ? errno : nil },
        body
    )
}
