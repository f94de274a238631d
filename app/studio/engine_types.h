// Plain values that travel between the UI thread and the engine worker by queued signals.
#pragma once

#include <QMetaType>
#include <QString>
#include <QVector>
#include <cstdint>

#include "core/runtime/sampler.h"
#include "core/store/records.h"

namespace statescope::studio {

struct ChatTurn {
    QString role;  // "system", "user", "assistant"
    QString text;
    int node = -1;  // the window's ChatTree node; -1: not in the tree (a preview's draft)
};

struct GenerationRequest {
    quint64 id = 0;
    // Which chat the nodes belong to: the worker's Conversation starts over when it changes.
    quint64 conversation = 0;
    QVector<ChatTurn> turns;  // the visible branch, system message first when there is one
    int reply_node = -1;      // the ChatTree node the reply fills
    SamplerSettings sampler;
    std::int64_t max_new_tokens = 256;
    bool read_twice = false;  // JRT: the prompt reads the latest user message twice
};

// The inspector's request: analyse the conversation on screen (issue 10).
struct AnalysisRequest {
    quint64 id = 0;
    QVector<ChatTurn> turns;
};

// A finished reply, from the engine thread to the window.
struct ReplyStats {
    // As the session store keeps them (core/chat/reply_stats.h), with the state size and a stop
    // the user asked for as "cancelled" (whatever ended the generation first).
    GenerationStats store_stats;
    std::int64_t reused_tokens = 0;  // prompt tokens whose state came from a snapshot
    QString backend;
    QString text;  // the whole reply
};

struct LoadedModel {
    QString dir;
    QString name;
    QString model_type;
    QString backend;
    bool has_chat_template = false;
};

}  // namespace statescope::studio

Q_DECLARE_METATYPE(statescope::studio::GenerationRequest)
Q_DECLARE_METATYPE(statescope::studio::ReplyStats)
Q_DECLARE_METATYPE(statescope::studio::LoadedModel)
Q_DECLARE_METATYPE(statescope::studio::AnalysisRequest)
