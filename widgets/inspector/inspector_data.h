// What the engine worker hands the inspector: the core Inspection (plain analysis results) and the
// text of its tokens, decoded on the engine side so that widgets never touch a tokenizer.
#pragma once

#include <QHash>
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>
#include <memory>

#include "core/analysis/inspection.h"

namespace statescope::widgets {

struct InspectorData {
    quint64 id = 0;
    std::shared_ptr<const Inspection> core;
    QString text;               // the analysed text (the rendered conversation)
    QStringList tokens;         // [T] decoded text of each token
    QVector<int> offsets;       // [T] start of each token in `text` (characters)
    QHash<int, QString> vocab;  // token id -> text, for the logit lens' top ids
    QString model_name;

    bool empty() const { return !core || core->tokens == 0; }
    // "t" or "channel" / "head" for a layer's units
    static QString unitName(MixerKind kind) {
        return kind == MixerKind::Mamba2 ? QStringLiteral("head") : QStringLiteral("channel");
    }
    QString tokenLabel(int t) const {
        QString s = t >= 0 && t < tokens.size() ? tokens[t] : QString();
        s.replace('\n', QStringLiteral("⏎"));
        return s;
    }
};

}  // namespace statescope::widgets

Q_DECLARE_METATYPE(statescope::widgets::InspectorData)
