#ifndef MLMON_TESTS_COUNTING_NEW_H_
#define MLMON_TESTS_COUNTING_NEW_H_

// Replaces the global operator new/delete with versions that count the
// calling thread's allocations, so a test can prove that a hot-path call
// allocates nothing (background threads of the code under test, which may
// allocate, are not counted). Include in exactly one file of a test
// executable: it defines the replacement operators.

#include <cstddef>
#include <cstdlib>
#include <new>

namespace mlmon_test {
// Constant-initialised: no TLS guard, so counting itself never allocates.
inline thread_local long t_allocations = 0;
/// Allocations made so far by the calling thread.
inline long Allocations() noexcept { return t_allocations; }
/// When non-zero, a throwing `operator new` of the calling thread asked for
/// more than this many bytes throws `std::bad_alloc`, as a host out of memory
/// would.
inline thread_local std::size_t t_fail_above = 0;
inline void ThrowIfRefused(std::size_t n) {
  if (t_fail_above != 0 && n > t_fail_above) throw std::bad_alloc();
}
}  // namespace mlmon_test

// GCC 12 inlines these into callers and then mistakes the malloc/free
// pairing for a new/free mismatch (also under -fsanitize=thread).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t n) {
  ++mlmon_test::t_allocations;
  mlmon_test::ThrowIfRefused(n);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++mlmon_test::t_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
void* operator new(std::size_t n, std::align_val_t a) {
  ++mlmon_test::t_allocations;
  mlmon_test::ThrowIfRefused(n);
  const std::size_t align = static_cast<std::size_t>(a);
  if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return operator new(n, a);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif  // MLMON_TESTS_COUNTING_NEW_H_
