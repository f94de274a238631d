// The compare engine on its own thread (docs/STYLE.md §3): run() takes a request by a queued
// signal, loads each model in turn (or all at once when asked and their weights fit in memory
// together), and reports progress and each model's result as it completes. request_stop() is
// thread-safe and takes effect between two tokens or two prefill chunks.
#pragma once

#include <QMetaType>
#include <QObject>
#include <QString>
#include <atomic>

#include "app/studio/compare_types.h"

namespace statescope::studio {

class CompareWorker : public QObject {
    Q_OBJECT
  public:
    explicit CompareWorker(QObject* parent = nullptr);
    void request_stop() { stop_.store(true); }

    // Whether `dirs` may be loaded together: their weight files take at most half the memory the
    // system reports available (CPU backend; a GPU backend always runs them one after another).
    static bool fits_together(const std::vector<std::string>& dirs, const std::string& backend);

  public slots:
    void run(const statescope::studio::CompareRequest& request);

  signals:
    // index: the model's pane; stage: "load", "generate", "memory", "loss", "decay".
    void progress(int index, const QString& stage, qint64 done, qint64 total);
    void modelFinished(int index, const statescope::studio::ModelResult& result);
    // together: whether the models ran at the same time (their speeds then share the machine).
    void finished(const statescope::studio::CompareResult& result, bool together);

  private:
    std::atomic<bool> stop_{false};
};

// Registers the compare types for queued signals (idempotent).
void register_compare_types();

}  // namespace statescope::studio
