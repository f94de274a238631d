#include "core/runtime/observer.h"

namespace statescope {

void CaptureSink::capture(std::string_view name, float* data, std::vector<std::int64_t> shape,
                          std::int64_t stride) const {
    if (!active()) return;
    const std::string point = layer_ >= 0
                                  ? "layer." + std::to_string(layer_) + "." + std::string(name)
                                  : std::string(name);
    Capture c;
    c.point = point;
    c.layer = layer_;
    c.position = position_;
    c.data = data;
    c.stride = stride != 0 ? stride : (shape.empty() ? 0 : shape.back());
    c.shape = std::move(shape);
    for (Observer* o : *observers_)
        if (o->wants(point)) o->on_capture(c, *backend_);
}

}  // namespace statescope
