// A row the writer thread will insert: the caller gets it at once and can use it at once (as the
// parent of the next message, the target of append_text), because the writer runs writes in the
// order they were queued. id() waits until the row is committed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace statescope {

namespace detail {
struct RowSlot {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::int64_t id = 0;
    std::string error;  // set instead of id when the write failed
    // Writer thread only: the id inside the open transaction, before the commit publishes it.
    std::optional<std::int64_t> tentative;
};
}  // namespace detail

class RowRef {
  public:
    RowRef() = default;       // no row ("no parent", "no model")
    RowRef(std::int64_t id);  // NOLINT(google-explicit-constructor): an existing row
    static RowRef pending();

    bool is_null() const { return slot_ == nullptr; }
    explicit operator bool() const { return slot_ != nullptr; }
    // Committed (or failed): id() will not wait.
    bool ready() const;
    // Waits for the commit; throws Error with the reason when the write failed.
    std::int64_t id() const;
    // The id if committed, nullopt while pending or failed.
    std::optional<std::int64_t> try_id() const;

    // Writer side.
    detail::RowSlot* slot() const { return slot_.get(); }
    void publish(std::int64_t id) const;
    void fail(const std::string& error) const;

  private:
    std::shared_ptr<detail::RowSlot> slot_;
};

}  // namespace statescope
