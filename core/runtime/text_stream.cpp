#include "core/runtime/text_stream.h"

#include <algorithm>

namespace statescope {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool ends_with_replacement(const std::string& s) {
    return s.size() >= kReplacement.size() &&
           std::string_view(s).substr(s.size() - kReplacement.size()) == kReplacement;
}

}  // namespace

IncrementalDetokenizer::IncrementalDetokenizer(DetokenizeFn detokenize)
    : detokenize_(std::move(detokenize)) {}

std::string IncrementalDetokenizer::push(std::int32_t id) {
    ids_.push_back(id);
    const std::span<const std::int32_t> all(ids_);
    const std::string before = detokenize_(all.subspan(prefix_, read_ - prefix_));
    const std::string now = detokenize_(all.subspan(prefix_));
    const bool incomplete = ends_with_replacement(now);
    const bool window_full = ids_.size() - read_ >= kMaxPendingTokens;
    if (now.size() <= before.size()) {
        // Tokens that decode to nothing (skipped special tokens): move on once the window is full.
        if (window_full) prefix_ = read_ = ids_.size();
        return {};
    }
    if (incomplete && !window_full) return {};
    std::string out = now.substr(before.size());
    prefix_ = read_;
    read_ = ids_.size();
    return out;
}

std::string IncrementalDetokenizer::flush() {
    if (read_ == ids_.size()) return {};
    const std::span<const std::int32_t> all(ids_);
    const std::string before = detokenize_(all.subspan(prefix_, read_ - prefix_));
    const std::string now = detokenize_(all.subspan(prefix_));
    prefix_ = read_ = ids_.size();
    return now.size() > before.size() ? now.substr(before.size()) : std::string();
}

StopStringMatcher::StopStringMatcher(std::vector<std::string> stops) {
    for (auto& s : stops)
        if (!s.empty()) stops_.push_back(std::move(s));
}

std::string StopStringMatcher::push(std::string_view text) {
    if (matched_) return {};
    pending_.append(text);
    // pending_ holds at most (longest stop - 1) bytes from before plus `text`, so this is
    // O(new text x stop length).
    std::size_t cut = std::string::npos;
    for (const auto& s : stops_) cut = std::min(cut, pending_.find(s));
    if (cut != std::string::npos) {
        matched_ = true;
        std::string out = pending_.substr(0, cut);
        pending_.clear();
        return out;
    }
    // Hold back the longest tail of pending_ that is the start of some stop string.
    std::size_t hold = 0;
    for (const auto& s : stops_) {
        const std::size_t max_k = std::min(s.size() - 1, pending_.size());
        for (std::size_t k = max_k; k > hold; --k) {
            if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
                hold = k;
                break;
            }
        }
    }
    std::string out = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string StopStringMatcher::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

}  // namespace statescope
