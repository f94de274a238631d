// One probe result as the compare view draws it: the accuracy grid (context length x needle
// depth) of a passkey, needle or phonebook run, read from the document `statescope-cli probe`
// writes (docs/PROBES-JSON.md; core/analysis/probes/probe_json.cpp writes it):
//   {"format": "statescope-probe", "version": 1, "probe": "passkey",
//    "model": {"path": ..., "model_type": ...},               (added by the CLI; optional here)
//    "summary": {"lengths": [L], "depths": [D],
//                "accuracy": [L][D] (null where no sample ran), "correct": [L][D], "count": [L][D],
//                ...}, ...}
// Rows are lengths, columns depths, as the writer has them.
#pragma once

#include <QString>
#include <QVector>
#include <nlohmann/json.hpp>
#include <optional>

#include "widgets/common/plot_export.h"

namespace statescope::widgets {

struct ProbeGrid {
    QString model;   // the model folder's name (model.path), else model.model_type, else the file's
    QString probe;   // "passkey", "needle", "phonebook"
    QString source;  // where it was read from, for messages: the file, "stored run 12", ...
    QVector<qint64> lengths;
    QVector<double> depths;
    QVector<QVector<double>> accuracy;  // [lengths][depths], 0..1; NaN where no sample ran
    QVector<QVector<qint64>> correct;   // [lengths][depths]
    QVector<QVector<qint64>> count;     // [lengths][depths]; 0 where no sample ran
};

// Reads the document above. `source` names it in errors (the file). nullopt with the reason in
// *error, naming the source and the field, when the document does not fit.
std::optional<ProbeGrid> probe_grid_from_json(const nlohmann::json& doc, const QString& source,
                                              QString* error = nullptr);
std::optional<ProbeGrid> load_probe_grid(const QString& file, QString* error = nullptr);

// The grid as a document probe_grid_from_json() reads back (format, version, probe, model.path
// standing for the name, summary with lengths, depths, accuracy, correct, count): what the compare
// view saves with a comparison.
nlohmann::json probe_grid_to_json(const ProbeGrid& grid);

// correct / count over every cell that ran (the writer's summary.overall); NaN when none ran.
double probe_grid_overall(const ProbeGrid& grid);

// Empty when every grid is of one probe; else why they cannot share one view, naming each grid
// (model, probe, source). Accuracies of different probes on one colour scale read as comparable,
// and they are not (a passkey is 5 digits, a phone number 10).
QString mixed_probes_error(const QVector<ProbeGrid>& grids);

// model,length,depth,accuracy,correct,count: one row per cell, length-major; accuracy empty where
// no sample ran.
CsvRows probe_grid_rows(const ProbeGrid& grid);

}  // namespace statescope::widgets
