#include "core/chat/reply_stats.h"

namespace statescope {

GenerationStats generation_stats(const Conversation::Reply& r) {
    const GenerateStats& g = r.stats;
    GenerationStats s;
    s.prompt_tokens = g.prompt_tokens;
    s.generated_tokens = g.generated_tokens;
    s.ttft_s = g.time_to_first_token;
    s.prefill_s = g.prefill_seconds;  // restore + prefill of what no snapshot held
    s.decode_s = g.decode_seconds;
    if (g.prefill_seconds > 0)
        s.prefill_tok_s = double(g.prompt_tokens - r.reused_tokens) / g.prefill_seconds;
    s.decode_tok_s = g.decode_tokens_per_s();
    s.stop_reason = stop_reason_name(g.stop);
    return s;
}

}  // namespace statescope
