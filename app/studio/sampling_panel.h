// The "Prompt and sampling" dock's contents: the system prompt for new chats, the sampler settings
// and JRT "read twice", loaded from and saved to QSettings.
#pragma once

#include <QWidget>
#include <cstdint>

#include "core/runtime/sampler.h"

class QCheckBox;
class QDoubleSpinBox;
class QPlainTextEdit;
class QSpinBox;

namespace statescope::studio {

class SamplingPanel : public QWidget {
    Q_OBJECT
  public:
    explicit SamplingPanel(QWidget* parent = nullptr);

    // The settings on screen; a seed of 0 on screen draws a random one for each call.
    SamplerSettings sampler() const;
    std::int64_t maxNewTokens() const;
    QString systemPrompt() const;  // trimmed
    // JRT "read twice": each reply's prompt reads the latest user message twice
    // (core/analysis/probes/prompts.h, jrt_message).
    bool readTwice() const;
    void setReadTwice(bool on);
    void setSampling(const SamplerSettings& s, std::int64_t max_new_tokens);
    void saveSettings() const;

  private:
    QPlainTextEdit* system_prompt_ = nullptr;
    QDoubleSpinBox* temperature_ = nullptr;
    QSpinBox* top_k_ = nullptr;
    QDoubleSpinBox* top_p_ = nullptr;
    QDoubleSpinBox* min_p_ = nullptr;
    QDoubleSpinBox* repeat_penalty_ = nullptr;
    QSpinBox* max_new_ = nullptr;
    QSpinBox* seed_ = nullptr;
    QCheckBox* read_twice_ = nullptr;
};

}  // namespace statescope::studio
