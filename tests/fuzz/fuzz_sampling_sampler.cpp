// libFuzzer target: the Sampler on arbitrary parameters, logits (NaN, inf, anything) and
// history; the token must always be inside the vocabulary.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "sampling/sampler.h"

namespace {

template <class T>
T take(const uint8_t*& p, size_t& left) {
  T v{};
  if (left >= sizeof(T)) {
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    left -= sizeof(T);
  }
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint8_t* p = data;
  size_t left = size;
  corral::SamplingParams sp;
  sp.temperature = take<float>(p, left);
  sp.top_k = take<int32_t>(p, left);
  sp.top_p = take<float>(p, left);
  sp.min_p = take<float>(p, left);
  sp.typical_p = take<float>(p, left);
  sp.repeat_penalty = take<float>(p, left);
  sp.repeat_last_n = take<int32_t>(p, left);
  sp.presence_penalty = take<float>(p, left);
  sp.frequency_penalty = take<float>(p, left);
  sp.seed = take<uint64_t>(p, left);
  sp.has_seed = true;
  const int32_t n_vocab = 1 + take<uint8_t>(p, left) % 200;
  const int32_t n_history = take<uint8_t>(p, left);
  corral::Sampler s(sp, n_vocab);
  for (int32_t i = 0; i < n_history; ++i) s.accept(take<int32_t>(p, left) % (2 * n_vocab));
  std::vector<float> logits(static_cast<size_t>(n_vocab));
  for (int step = 0; step < 3; ++step) {
    for (auto& l : logits) l = take<float>(p, left);
    const int32_t t = s.sample(logits.data());
    if (t < 0 || t >= n_vocab) __builtin_trap();
    s.accept(t);
  }
  return 0;
}
