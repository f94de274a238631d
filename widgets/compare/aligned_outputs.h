// The models' replies to one prompt in equal columns, one per model, headed by the model's name and
// a line of facts; the columns scroll together so the same place in each reply stays level.
#pragma once

#include <QString>
#include <QVector>
#include <QWidget>

class QHBoxLayout;
class QPlainTextEdit;

namespace statescope::widgets {

struct OutputColumn {
    QString title;     // the model's name
    QString subtitle;  // e.g. "mamba · MMM · 32 tokens"
    QString text;      // the reply (or what went wrong)
    bool failed = false;
};

class AlignedOutputs : public QWidget {
    Q_OBJECT
  public:
    explicit AlignedOutputs(QWidget* parent = nullptr);
    void setColumns(const QVector<OutputColumn>& columns);
    const QVector<OutputColumn>& columns() const { return columns_; }
    QVector<QPlainTextEdit*> editors() const { return editors_; }

  private:
    QVector<OutputColumn> columns_;
    QVector<QPlainTextEdit*> editors_;
    QHBoxLayout* row_ = nullptr;
    bool syncing_ = false;
};

}  // namespace statescope::widgets
