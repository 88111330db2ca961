// Bump allocator for field text a reader has to rewrite (unescaped quotes, decoded JSON strings).
// Memory stays put until reset(), so string_views handed out in a batch remain valid.
#pragma once

#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace slipway::table::detail {

class Arena {
 public:
  std::string_view copy(std::string_view text) {
    char* out = allocate(text.size());
    if (!text.empty()) std::memcpy(out, text.data(), text.size());
    return {out, text.size()};
  }

  char* allocate(size_t n) {
    if (blocks_.empty() || used_ + n > blocks_[current_].size) next_block(n);
    char* out = blocks_[current_].data.get() + used_;
    used_ += n;
    return out;
  }

  // Keeps the blocks for reuse; everything handed out before is invalid afterwards.
  void reset() {
    current_ = 0;
    used_ = 0;
    // A block grown for one huge field is released instead of being kept forever.
    while (blocks_.size() > 1 && blocks_.back().size > kBlock) blocks_.pop_back();
  }

 private:
  static constexpr size_t kBlock = 64u << 10;
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };

  void next_block(size_t n) {
    used_ = 0;
    if (!blocks_.empty()) {
      // Find a later block big enough (kept from an earlier batch) or append one.
      for (size_t i = current_ + 1; i < blocks_.size(); ++i) {
        if (blocks_[i].size >= n) {
          std::swap(blocks_[current_ + 1], blocks_[i]);
          ++current_;
          return;
        }
      }
      current_ = blocks_.size();
    }
    size_t size = n > kBlock ? n : kBlock;
    blocks_.push_back(Block{std::make_unique_for_overwrite<char[]>(size), size});
    current_ = blocks_.size() - 1;
  }

  std::vector<Block> blocks_;
  size_t current_ = 0;
  size_t used_ = 0;
};

}  // namespace slipway::table::detail
