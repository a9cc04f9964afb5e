// Quality heuristic from practice: "rank of the user's most-used carousel on
// the personalised home page".
//
// A recommender orders the carousels of a home page for a user. No label
// ever says whether the page was good, but one thing we know: a user who
// mostly uses one carousel should find it near the top. The heuristic
// computes, off the inference path, the 1-based rank of the user's most-used
// carousel in the response, and records it as
//
//   mlmon_heuristic_value{heuristic="favourite_carousel_rank"}  (histogram)
//   mlmon_heuristic_checks_total{heuristic="favourite_carousel_in_top3",
//                                result="pass"|"fail"}
//
// Alert on the share of fails, or on the rank's p90, in PromQL:
//
//   sum(rate(mlmon_heuristic_checks_total{
//         heuristic="favourite_carousel_in_top3",result="fail"}[10m]))
//   / sum(rate(mlmon_heuristic_checks_total{
//         heuristic="favourite_carousel_in_top3"}[10m]))
//
// Runs a few hundred synthetic requests, prints the heuristic families and
// exits 0. Binds no port.

#include <mlmon/heuristics.h>
#include <mlmon/registry.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

const std::array<const char*, 8> kCarousels = {
    "continue_watching", "trending",      "new_releases", "because_you_watched",
    "top_picks",         "documentaries", "comedies",     "kids"};

// What the server knows about the user when the request comes in: how often
// they played something from each carousel (last 30 days).
struct HomeRequest {
  std::string user_id;
  std::vector<std::uint32_t> plays_by_carousel;  // index into kCarousels
};

// The personalised home page: carousel names, top first.
struct HomePage {
  std::vector<std::string> carousels;
};

// A tiny fake recommender: a noisy score per carousel, nudged by the user's
// history.
class FakeRecommender {
 public:
  explicit FakeRecommender(std::uint32_t seed) : rng_(seed) {}

  HomePage Recommend(const HomeRequest& req) {
    std::uint32_t total = 0;
    for (std::uint32_t p : req.plays_by_carousel) total += p;
    std::vector<std::pair<double, std::size_t>> scored;
    std::normal_distribution<double> noise(0.0, 0.35);
    for (std::size_t c = 0; c < kCarousels.size(); ++c) {
      const double affinity =
          total == 0 ? 0.0
                     : static_cast<double>(req.plays_by_carousel[c]) / total;
      scored.emplace_back(affinity + noise(rng_), c);
    }
    std::sort(scored.begin(), scored.end(),
              [](const auto& a, const auto& b) { return a.first > b.first; });
    HomePage page;
    for (const auto& s : scored)
      page.carousels.emplace_back(kCarousels[s.second]);
    return page;
  }

 private:
  std::mt19937 rng_;
};

// Synthetic users: each has a favourite carousel they play from most.
HomeRequest MakeRequest(std::mt19937& rng, int i) {
  HomeRequest req;
  req.user_id = "user-" + std::to_string(i % 97);
  std::uniform_int_distribution<std::size_t> pick(0, kCarousels.size() - 1);
  std::uniform_int_distribution<std::uint32_t> casual(0, 4);
  const std::size_t favourite = pick(rng);
  for (std::size_t c = 0; c < kCarousels.size(); ++c) {
    req.plays_by_carousel.push_back(c == favourite ? 20 + casual(rng)
                                                   : casual(rng));
  }
  return req;
}

// The heuristic itself. 1-based rank of the user's most-used carousel in the
// page; a page without it ranks one past the end. Runs on the runner's
// worker thread, never on the inference path.
double FavouriteCarouselRank(const HomeRequest& req, const HomePage& page) {
  std::size_t favourite = 0;
  for (std::size_t c = 1; c < req.plays_by_carousel.size(); ++c) {
    if (req.plays_by_carousel[c] > req.plays_by_carousel[favourite]) {
      favourite = c;
    }
  }
  for (std::size_t i = 0; i < page.carousels.size(); ++i) {
    if (page.carousels[i] == kCarousels[favourite]) {
      return static_cast<double>(i + 1);
    }
  }
  return static_cast<double>(page.carousels.size() + 1);
}

}  // namespace

int main() {
  mlmon::Registry registry;
  // Set-up, once per model version.
  mlmon::Heuristics heuristics(registry, "home_recommender", "v2");
  mlmon::RunnerOptions options;
  options.queue_capacity = 1024;
  options.sample_every = 1;  // evaluate every request (e.g. 10: one in ten)
  auto runner = heuristics.MakeRunner<HomeRequest, HomePage>(options);
  runner->AddValue("favourite_carousel_rank", FavouriteCarouselRank);
  runner->AddCheck("favourite_carousel_in_top3",
                   [](const HomeRequest& req, const HomePage& page) {
                     return FavouriteCarouselRank(req, page) <= 3;
                   });

  // Serving.
  constexpr int kRequests = 400;
  FakeRecommender recommender(42);
  std::mt19937 traffic(7);
  int queued = 0;
  for (int i = 0; i < kRequests; ++i) {
    HomeRequest req = MakeRequest(traffic, i);
    HomePage page = recommender.Recommend(req);
    // ... the page is sent to the user here ...
    // Then hand the pair to the runner: a move into a bounded queue, never
    // blocks; a full queue drops (and counts) the pair instead.
    if (runner->Submit(std::move(req), std::move(page))) ++queued;
  }
  runner->Flush();  // a server never needs this; the example prints results

  // Print the heuristic families of the exposition.
  std::istringstream text(registry.TextExposition());
  std::string line;
  while (std::getline(text, line)) {
    if (line.find("mlmon_heuristic_") != std::string::npos ||
        line.find("mlmon_hook_") != std::string::npos) {
      std::printf("%s\n", line.c_str());
    }
  }
  std::printf("# %d of %d requests evaluated\n", queued, kRequests);
  return queued == kRequests ? 0 : 1;
}
