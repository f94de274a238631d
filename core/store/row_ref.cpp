#include "core/store/row_ref.h"

#include "core/error.h"

namespace statescope {

RowRef::RowRef(std::int64_t id) : slot_(std::make_shared<detail::RowSlot>()) {
    slot_->done = true;
    slot_->id = id;
}

RowRef RowRef::pending() {
    RowRef r;
    r.slot_ = std::make_shared<detail::RowSlot>();
    return r;
}

bool RowRef::ready() const {
    if (!slot_) return true;
    std::lock_guard lock(slot_->mutex);
    return slot_->done;
}

std::int64_t RowRef::id() const {
    if (!slot_) throw Error("no row: this reference is empty");
    std::unique_lock lock(slot_->mutex);
    slot_->done_cv.wait(lock, [&] { return slot_->done; });
    if (!slot_->error.empty()) throw Error(slot_->error);
    return slot_->id;
}

std::optional<std::int64_t> RowRef::try_id() const {
    if (!slot_) return std::nullopt;
    std::lock_guard lock(slot_->mutex);
    if (!slot_->done || !slot_->error.empty()) return std::nullopt;
    return slot_->id;
}

void RowRef::publish(std::int64_t id) const {
    {
        std::lock_guard lock(slot_->mutex);
        slot_->id = id;
        slot_->done = true;
    }
    slot_->done_cv.notify_all();
}

void RowRef::fail(const std::string& error) const {
    {
        std::lock_guard lock(slot_->mutex);
        slot_->error = error.empty() ? "write failed" : error;
        slot_->done = true;
    }
    slot_->done_cv.notify_all();
}

}  // namespace statescope
