// Content hashing. SHA-256 (OpenSSL, SHA-NI where the CPU has it) names every stored object;
// XXH3 is the fast non-cryptographic hash for sketches and hash tables.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "slipway/core/status.h"

namespace slipway {

using Sha256Digest = std::array<uint8_t, 32>;

std::string to_hex(const Sha256Digest& digest);
// Parses 64 lowercase hex characters; anything else is kInvalidArgument.
Result<Sha256Digest> digest_from_hex(std::string_view hex);

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  Sha256Digest finish();  // resets the state afterwards

 private:
  struct State;
  std::unique_ptr<State> state_;
};

Sha256Digest sha256(std::string_view data);
std::string sha256_hex(std::string_view data);

uint64_t xxh3_64(const void* data, size_t size, uint64_t seed = 0);
inline uint64_t xxh3_64(std::string_view data, uint64_t seed = 0) {
  return xxh3_64(data.data(), data.size(), seed);
}

}  // namespace slipway
