// Light and dark palettes on the Fusion style (the platform style cannot be made dark everywhere).
#pragma once

namespace statescope::studio {

void apply_theme(bool dark);

}  // namespace statescope::studio
