#include "app/studio/sampling_panel.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QPlainTextEdit>
#include <QRandomGenerator>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

namespace statescope::studio {

SamplingPanel::SamplingPanel(QWidget* parent) : QWidget(parent) {
    QSettings s;
    auto* w = new QWidget(this);
    auto* form = new QFormLayout(w);
    system_prompt_ = new QPlainTextEdit(w);
    system_prompt_->setObjectName("systemPrompt");
    system_prompt_->setAccessibleName(tr("System prompt"));
    system_prompt_->setPlaceholderText(tr("System prompt for new chats (optional)"));
    system_prompt_->setMaximumHeight(80);
    system_prompt_->setPlainText(s.value("chat/system_prompt").toString());
    form->addRow(tr("System"), system_prompt_);
    auto dspin = [&](const QString& label, double lo, double hi, double step, double def,
                     const char* key) {
        auto* b = new QDoubleSpinBox(w);
        b->setRange(lo, hi);
        b->setSingleStep(step);
        b->setDecimals(2);
        b->setValue(s.value(key, def).toDouble());
        b->setAccessibleName(label);
        form->addRow(label, b);
        return b;
    };
    auto ispin = [&](const QString& label, int lo, int hi, int def, const char* key) {
        auto* b = new QSpinBox(w);
        b->setRange(lo, hi);
        b->setValue(s.value(key, def).toInt());
        b->setAccessibleName(label);
        form->addRow(label, b);
        return b;
    };
    // Defaults as llama.cpp's: a little randomness, so regenerate gives another reply.
    temperature_ = dspin(tr("Temperature"), 0, 2, 0.05, 0.8, "sampling/temperature");
    top_k_ = ispin(tr("Top-k"), 0, 1000, 40, "sampling/top_k");
    top_p_ = dspin(tr("Top-p"), 0, 1, 0.01, 0.95, "sampling/top_p");
    min_p_ = dspin(tr("Min-p"), 0, 1, 0.01, 0.05, "sampling/min_p");
    repeat_penalty_ = dspin(tr("Repeat penalty"), 0.5, 2, 0.05, 1.1, "sampling/repetition_penalty");
    max_new_ = ispin(tr("Max new tokens"), 1, 1'000'000, 256, "sampling/max_new_tokens");
    seed_ = ispin(tr("Seed (0: random)"), 0, 2'000'000'000, 0, "sampling/seed");
    read_twice_ = new QCheckBox(tr("Read twice (JRT)"), w);
    read_twice_->setObjectName("readTwice");
    read_twice_->setAccessibleName(tr("Read the latest message twice"));
    read_twice_->setToolTip(
        tr("\"Just read twice\": the prompt repeats the latest message's context (all of it "
           "before its last blank line; a one-paragraph message whole) before the question, so a "
           "recurrent model reads it knowing what is asked. The message is stored once."));
    read_twice_->setChecked(s.value("chat/read_twice", false).toBool());
    form->addRow(QString(), read_twice_);
    auto* ov = new QVBoxLayout(this);
    ov->addWidget(w);
    ov->addStretch(1);
    setMaximumWidth(300);
}

SamplerSettings SamplingPanel::sampler() const {
    SamplerSettings r;
    r.temperature = float(temperature_->value());
    r.top_k = top_k_->value();
    r.top_p = float(top_p_->value());
    r.min_p = float(min_p_->value());
    r.repetition_penalty = float(repeat_penalty_->value());
    r.seed = seed_->value() != 0 ? std::uint64_t(seed_->value())
                                 : QRandomGenerator::global()->generate64();
    return r;
}

std::int64_t SamplingPanel::maxNewTokens() const {
    return max_new_->value();
}

QString SamplingPanel::systemPrompt() const {
    return system_prompt_->toPlainText().trimmed();
}

bool SamplingPanel::readTwice() const {
    return read_twice_->isChecked();
}

void SamplingPanel::setReadTwice(bool on) {
    read_twice_->setChecked(on);
}

void SamplingPanel::setSampling(const SamplerSettings& s, std::int64_t max_new_tokens) {
    temperature_->setValue(s.temperature);
    top_k_->setValue(int(s.top_k));
    top_p_->setValue(s.top_p);
    min_p_->setValue(s.min_p);
    repeat_penalty_->setValue(s.repetition_penalty);
    max_new_->setValue(int(max_new_tokens));
    seed_->setValue(int(s.seed));
}

void SamplingPanel::saveSettings() const {
    QSettings s;
    s.setValue("sampling/temperature", temperature_->value());
    s.setValue("sampling/top_k", top_k_->value());
    s.setValue("sampling/top_p", top_p_->value());
    s.setValue("sampling/min_p", min_p_->value());
    s.setValue("sampling/repetition_penalty", repeat_penalty_->value());
    s.setValue("sampling/max_new_tokens", max_new_->value());
    s.setValue("sampling/seed", seed_->value());
    s.setValue("chat/system_prompt", system_prompt_->toPlainText());
    s.setValue("chat/read_twice", read_twice_->isChecked());
}

}  // namespace statescope::studio
