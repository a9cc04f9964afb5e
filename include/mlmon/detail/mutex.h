#ifndef MLMON_DETAIL_MUTEX_H_
#define MLMON_DETAIL_MUTEX_H_

/// \file
/// A mutex that clang's `-Wthread-safety` analysis understands, and the
/// annotations that say which state it guards. libstdc++'s `std::mutex` has
/// no capability attributes, so state guarded by one cannot be checked;
/// every mutex of the library is a `detail::Mutex` and every member it
/// protects says so with `MLMON_GUARDED_BY(mu_)`. Under GCC the macros are
/// empty and the types compile to `std::mutex` and `std::unique_lock`.
///
/// Not part of the API: public headers need it only for their private
/// members.

#include <condition_variable>
#include <mutex>

#if defined(__GLIBC__)
#include <pthread.h>
#else
#include <shared_mutex>
#endif

#if defined(__clang__)
#define MLMON_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define MLMON_THREAD_ANNOTATION(x)
#endif

#define MLMON_CAPABILITY(x) MLMON_THREAD_ANNOTATION(capability(x))
#define MLMON_SCOPED_CAPABILITY MLMON_THREAD_ANNOTATION(scoped_lockable)
#define MLMON_GUARDED_BY(x) MLMON_THREAD_ANNOTATION(guarded_by(x))
#define MLMON_PT_GUARDED_BY(x) MLMON_THREAD_ANNOTATION(pt_guarded_by(x))
#define MLMON_ACQUIRED_BEFORE(...) \
  MLMON_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define MLMON_REQUIRES(...) \
  MLMON_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define MLMON_EXCLUDES(...) MLMON_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define MLMON_ACQUIRE(...) \
  MLMON_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define MLMON_ACQUIRE_SHARED(...) \
  MLMON_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define MLMON_RELEASE_SHARED(...) \
  MLMON_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define MLMON_RELEASE_GENERIC(...) \
  MLMON_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define MLMON_REQUIRES_SHARED(...) \
  MLMON_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define MLMON_RELEASE(...) \
  MLMON_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define MLMON_TRY_ACQUIRE(...) \
  MLMON_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define MLMON_RETURN_CAPABILITY(x) MLMON_THREAD_ANNOTATION(lock_returned(x))
#define MLMON_NO_THREAD_SAFETY_ANALYSIS \
  MLMON_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace mlmon {
namespace detail {

/// `std::mutex` with capability attributes.
class MLMON_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() MLMON_ACQUIRE() { mu_.lock(); }
  void unlock() MLMON_RELEASE() { mu_.unlock(); }
  bool try_lock() MLMON_TRY_ACQUIRE(true) { return mu_.try_lock(); }

  /// The underlying mutex, for a `std::condition_variable` wait through
  /// `MutexLock::native()`.
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

/// Holds a `Mutex` for its scope, like `std::unique_lock`. `native()` gives
/// the lock to `std::condition_variable::wait`, which releases and retakes
/// it inside the call; the analysis sees the mutex held throughout, which is
/// what the code after the wait may assume.
class MLMON_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) MLMON_ACQUIRE(mu) : lock_(mu.native()) {}
  ~MutexLock() MLMON_RELEASE() = default;
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  std::unique_lock<std::mutex>& native() { return lock_; }

 private:
  std::unique_lock<std::mutex> lock_;
};

/// A reader/writer lock with capability attributes. Writers are preferred:
/// once a writer waits, new readers wait behind it, so a writer (a tracker
/// being destroyed, a tracker being added) is not starved by a steady stream
/// of readers (feedback bodies). Not recursive: a thread holding it shared
/// must not take it again.
class MLMON_CAPABILITY("mutex") SharedMutex {
 public:
#if defined(__GLIBC__)
  SharedMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr,
                                  PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&mu_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~SharedMutex() { pthread_rwlock_destroy(&mu_); }

  void lock() MLMON_ACQUIRE() { pthread_rwlock_wrlock(&mu_); }
  void unlock() MLMON_RELEASE() { pthread_rwlock_unlock(&mu_); }
  void lock_shared() MLMON_ACQUIRE_SHARED() { pthread_rwlock_rdlock(&mu_); }
  void unlock_shared() MLMON_RELEASE_SHARED() { pthread_rwlock_unlock(&mu_); }
#else
  SharedMutex() = default;

  void lock() MLMON_ACQUIRE() { mu_.lock(); }
  void unlock() MLMON_RELEASE() { mu_.unlock(); }
  void lock_shared() MLMON_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void unlock_shared() MLMON_RELEASE_SHARED() { mu_.unlock_shared(); }
#endif
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

 private:
#if defined(__GLIBC__)
  pthread_rwlock_t mu_;
#else
  std::shared_mutex mu_;
#endif
};

/// Holds a `SharedMutex` exclusively for its scope.
class MLMON_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) MLMON_ACQUIRE(mu) : mu_(mu) {
    mu_.lock();
  }
  ~WriterLock() MLMON_RELEASE() { mu_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

/// Holds a `SharedMutex` shared for its scope.
class MLMON_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) MLMON_ACQUIRE_SHARED(mu) : mu_(mu) {
    mu_.lock_shared();
  }
  ~ReaderLock() MLMON_RELEASE_GENERIC() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace detail
}  // namespace mlmon

#endif  // MLMON_DETAIL_MUTEX_H_
