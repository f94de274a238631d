#include "app/studio/chat_records.h"

#include <QObject>
#include <QStringList>

#include "app/studio/model_library.h"

namespace statescope::studio {

QString role_name(Role r) {
    return to_qstring(std::string(to_string(r)));
}

QString stats_line(const Generation& g) {
    const auto& s = g.stats;
    QStringList parts;
    if (s.prompt_tokens) parts << QObject::tr("%1 prompt tok").arg(*s.prompt_tokens);
    if (s.generated_tokens) parts << QObject::tr("%1 generated").arg(*s.generated_tokens);
    if (s.ttft_s) parts << QObject::tr("TTFT %1 ms").arg(*s.ttft_s * 1e3, 0, 'f', 0);
    if (s.prefill_tok_s && *s.prefill_tok_s > 0)
        parts << QObject::tr("prefill %1 tok/s").arg(*s.prefill_tok_s, 0, 'f', 0);
    if (s.decode_tok_s && *s.decode_tok_s > 0)
        parts << QObject::tr("decode %1 tok/s").arg(*s.decode_tok_s, 0, 'f', 1);
    if (s.state_bytes) parts << QObject::tr("state %1").arg(format_bytes(*s.state_bytes));
    if (!g.params.backend.empty()) parts << to_qstring(g.params.backend);
    if (!s.stop_reason.empty()) parts << QObject::tr("stop: %1").arg(to_qstring(s.stop_reason));
    return parts.join(QStringLiteral(" · "));
}

}  // namespace statescope::studio
