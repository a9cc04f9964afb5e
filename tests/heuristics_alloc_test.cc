// Proves the heuristics hot path allocates nothing: operator new is replaced
// by a version that counts, per thread, and the count of the recording thread
// must not move across Record/Observe/Submit. (Per thread, because the
// runner's worker thread is free to allocate.)
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "counting_new.h"
#include "mlmon/heuristics.h"

namespace mlmon {
namespace {

// Trivially movable request/response.
struct PlainRequest {
  std::int64_t user = 0;
  double features[4] = {};
};
using PlainResponse = std::array<int, 8>;
static_assert(std::is_trivially_move_constructible_v<PlainRequest> &&
              std::is_trivially_move_assignable_v<PlainRequest>);

TEST(HeuristicsAllocationTest, RecordAndObserveAllocateNothing) {
  Registry registry;
  Heuristics heuristics(registry, "m", "1");
  HeuristicCheck& check = heuristics.AddCheck("c");
  HeuristicValue& value = heuristics.AddValue("v");
  check.Record(true);  // first call on this thread leases a slot (set-up)

  const long before = mlmon_test::Allocations();
  for (int i = 0; i < 1000; ++i) {
    check.Record(i % 2 == 0);
    value.Observe(i * 0.1);
    value.Observe(std::numeric_limits<double>::quiet_NaN());  // dropped
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
  auto* p = new int(1);  // and the counting works
  EXPECT_GT(mlmon_test::Allocations(), before);
  delete p;
}

TEST(HeuristicsAllocationTest, SubmitOfTriviallyMovablePairAllocatesNothing) {
  Registry registry;
  Heuristics heuristics(registry, "m", "1");
  auto runner =
      heuristics.MakeRunner<PlainRequest, PlainResponse>(RunnerOptions{4096});
  runner->AddCheck("c", [](const PlainRequest& q, const PlainResponse& r) {
    return q.user >= 0 && r[0] >= 0;
  });
  runner->Submit(PlainRequest{}, PlainResponse{});  // warm-up (slot lease)
  runner->Flush();

  std::vector<PlainRequest> requests(1000);
  std::vector<PlainResponse> responses(1000);
  for (int i = 0; i < 1000; ++i) requests[i].user = i;
  const long before = mlmon_test::Allocations();
  int accepted = 0;
  for (int i = 0; i < 1000; ++i) {
    accepted += runner->Submit(std::move(requests[i]), std::move(responses[i]));
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
  runner->Flush();
  EXPECT_EQ(accepted, 1000);
}

TEST(HeuristicsAllocationTest,
     SubmitOfPrebuiltStringsAndVectorsAllocatesNothing) {
  Registry registry;
  Heuristics heuristics(registry, "m", "1");
  auto runner = heuristics.MakeRunner<std::string, std::vector<std::string>>(
      RunnerOptions{4096});
  runner->AddValue("items",
                   [](const std::string&, const std::vector<std::string>& r) {
                     return static_cast<double>(r.size());
                   });
  runner->Submit(std::string(), std::vector<std::string>());  // warm-up
  runner->Flush();

  std::vector<std::string> requests;
  std::vector<std::vector<std::string>> responses;
  for (int i = 0; i < 1000; ++i) {
    requests.push_back("user-" + std::to_string(i) + std::string(40, 'x'));
    responses.push_back({"a-long-carousel-name-" + std::to_string(i), "b"});
  }
  const long before = mlmon_test::Allocations();
  int accepted = 0;
  for (int i = 0; i < 1000; ++i) {
    accepted += runner->Submit(std::move(requests[i]), std::move(responses[i]));
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
  runner->Flush();
  EXPECT_EQ(accepted, 1000);
}

TEST(HeuristicsAllocationTest, UnsampledAndRefusedSubmitsAllocateNothing) {
  Registry registry;
  Heuristics heuristics(registry, "m", "1");
  // No callbacks and no Flush: the ring fills after 2 pairs in the worst
  // case; the rest are refused (queue_full) or not sampled.
  auto runner =
      heuristics.MakeRunner<std::string, std::vector<int>>(RunnerOptions{2, 3});
  std::vector<std::string> requests(1000, std::string(50, 'r'));
  std::vector<std::vector<int>> responses(1000, std::vector<int>(10, 1));
  runner->Submit(std::string(), std::vector<int>());  // warm-up
  heuristics.AddCheck("warm").Record(true);  // leases this thread's slot
  const long before = mlmon_test::Allocations();
  for (int i = 0; i < 1000; ++i) {
    runner->Submit(std::move(requests[i]), std::move(responses[i]));
  }
  EXPECT_EQ(mlmon_test::Allocations(), before);
}

}  // namespace
}  // namespace mlmon
