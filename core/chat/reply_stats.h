// A chat reply's statistics as the session store keeps them (core/store/records.h): the one
// conversion behind `statescope-cli chat --save` and the studio's chat, so a stored reply says
// the same whichever of them wrote it.
#pragma once

#include "core/chat/conversation.h"
#include "core/store/records.h"

namespace statescope {

// Token counts, TTFT, prefill and decode times and rates, and the stop reason of `r`. The prefill
// rate counts only the prompt tokens prefilled, not those a snapshot restored, and is absent when
// no prefill time was measured (a rate from a zero duration would read as "zero tok/s").
// peak_memory_bytes and state_bytes stay absent: the caller fills what it measured.
GenerationStats generation_stats(const Conversation::Reply& r);

}  // namespace statescope
