#include "widgets/compare/probe_grid.h"

#include <QFile>
#include <QFileInfo>
#include <QObject>
#include <cmath>

#include "core/analysis/probes/probe_json.h"

namespace statescope::widgets {

using nlohmann::json;

namespace {

// Thrown inside the reader with the field's path; turned into `SOURCE: field "F" why` once.
struct FieldError {
    std::string field;
    QString why;
};

const json& member(const json& obj, const std::string& path, const char* key) {
    const std::string field = path.empty() ? key : path + "." + key;
    if (!obj.is_object() || !obj.contains(key)) throw FieldError{field, QObject::tr("missing")};
    return obj.at(key);
}

// An array of `n` entries (n < 0: any, but not empty).
const json& array_of(const json& j, const std::string& field, qsizetype n, const QString& what) {
    if (!j.is_array()) throw FieldError{field, QObject::tr("is not an array")};
    if (n < 0 && j.empty()) throw FieldError{field, QObject::tr("is empty")};
    if (n >= 0 && qsizetype(j.size()) != n)
        throw FieldError{field,
                         QObject::tr("has %1 entries for %2 %3").arg(j.size()).arg(n).arg(what)};
    return j;
}

std::string at(const std::string& field, std::size_t i) {
    return field + "[" + std::to_string(i) + "]";
}

// A [lengths][depths] array of T, each checked by `read`.
template <class T, class Read>
QVector<QVector<T>> grid_of(const json& s, const char* key, qsizetype nl, qsizetype nd, Read read) {
    const std::string field = std::string("summary.") + key;
    QVector<QVector<T>> out;
    const json& rows = array_of(member(s, "summary", key), field, nl, QObject::tr("lengths"));
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const json& row = array_of(rows[i], at(field, i), nd, QObject::tr("depths"));
        QVector<T> r;
        for (std::size_t j = 0; j < row.size(); ++j) r << read(row[j], at(at(field, i), j));
        out << r;
    }
    return out;
}

ProbeGrid read_grid(const json& doc, const QString& source) {
    const json& format = member(doc, "", "format");
    if (!format.is_string() || format.get<std::string>() != "statescope-probe")
        throw FieldError{"format",
                         QObject::tr("is %1, not \"statescope-probe\" (not a probe result)")
                             .arg(QString::fromStdString(format.dump()))};
    const json& version = member(doc, "", "version");
    if (!version.is_number_integer() || version.get<int>() < 1 ||
        version.get<int>() > kProbeJsonVersion)
        throw FieldError{"version", QObject::tr("is %1; this build reads versions 1 to %2")
                                        .arg(QString::fromStdString(version.dump()))
                                        .arg(kProbeJsonVersion)};
    ProbeGrid g;
    g.source = source;
    const json& probe = member(doc, "", "probe");
    if (!probe.is_string()) throw FieldError{"probe", QObject::tr("is not a string")};
    g.probe = QString::fromStdString(probe.get<std::string>());
    if (g.probe == "perplexity")
        throw FieldError{"probe",
                         QObject::tr("is \"perplexity\", which has no accuracy grid; load a "
                                     "passkey, needle or phonebook result")};
    const json& s = member(doc, "", "summary");
    if (!s.is_object()) throw FieldError{"summary", QObject::tr("is not an object")};

    const json& lengths = array_of(member(s, "summary", "lengths"), "summary.lengths", -1, {});
    for (std::size_t i = 0; i < lengths.size(); ++i) {
        if (!lengths[i].is_number_integer() || lengths[i].get<qint64>() <= 0)
            throw FieldError{at("summary.lengths", i), QObject::tr("is not a positive integer")};
        g.lengths << lengths[i].get<qint64>();
    }
    const json& depths = array_of(member(s, "summary", "depths"), "summary.depths", -1, {});
    for (std::size_t j = 0; j < depths.size(); ++j) {
        const double d = depths[j].is_number() ? depths[j].get<double>() : -1;
        if (!(d >= 0 && d <= 1))
            throw FieldError{at("summary.depths", j), QObject::tr("is not in 0..1")};
        g.depths << d;
    }
    const qsizetype nl = g.lengths.size(), nd = g.depths.size();
    g.accuracy = grid_of<double>(s, "accuracy", nl, nd, [](const json& v, const std::string& f) {
        if (v.is_null()) return std::nan("");  // no sample ran in this cell
        const double a = v.is_number() ? v.get<double>() : -1;
        if (!(a >= 0 && a <= 1)) throw FieldError{f, QObject::tr("is not null or in 0..1")};
        return a;
    });
    auto count = [](const json& v, const std::string& f) {
        if (!v.is_number_integer() || v.get<qint64>() < 0)
            throw FieldError{f, QObject::tr("is not a count")};
        return v.get<qint64>();
    };
    g.correct = grid_of<qint64>(s, "correct", nl, nd, count);
    g.count = grid_of<qint64>(s, "count", nl, nd, count);

    // The name: the model folder (the CLI writes model.path), else its type, else the file.
    g.model = QFileInfo(source).completeBaseName();
    if (doc.contains("model") && doc["model"].is_object()) {
        const json& m = doc["model"];
        if (m.contains("path") && m["path"].is_string())
            g.model = QFileInfo(QString::fromStdString(m["path"].get<std::string>())).fileName();
        else if (m.contains("model_type") && m["model_type"].is_string())
            g.model = QString::fromStdString(m["model_type"].get<std::string>());
    }
    return g;
}

}  // namespace

std::optional<ProbeGrid> probe_grid_from_json(const json& doc, const QString& source,
                                              QString* error) {
    try {
        return read_grid(doc, source);
    } catch (const FieldError& e) {
        if (error)
            *error = QObject::tr("%1: field \"%2\" %3")
                         .arg(source, QString::fromStdString(e.field), e.why);
    }
    return std::nullopt;
}

std::optional<ProbeGrid> load_probe_grid(const QString& file, QString* error) {
    QFile f(file);
    if (!f.open(QIODevice::ReadOnly)) {
        if (error) *error = QObject::tr("%1: cannot open it: %2").arg(file, f.errorString());
        return std::nullopt;
    }
    const QByteArray bytes = f.readAll();
    json doc;
    try {
        doc = json::parse(bytes.begin(), bytes.end());
    } catch (const json::parse_error& e) {
        if (error) *error = QObject::tr("%1: not JSON: %2").arg(file, e.what());
        return std::nullopt;
    }
    return probe_grid_from_json(doc, file, error);
}

json probe_grid_to_json(const ProbeGrid& g) {
    json accuracy = json::array(), correct = json::array(), count = json::array();
    for (qsizetype i = 0; i < g.lengths.size(); ++i) {
        json a = json::array();
        for (double v : g.accuracy[i]) a.push_back(std::isnan(v) ? json(nullptr) : json(v));
        accuracy.push_back(a);
        correct.push_back(std::vector<qint64>(g.correct[i].begin(), g.correct[i].end()));
        count.push_back(std::vector<qint64>(g.count[i].begin(), g.count[i].end()));
    }
    return {{"format", "statescope-probe"},
            {"version", kProbeJsonVersion},
            {"probe", g.probe.toStdString()},
            {"model", {{"path", g.model.toStdString()}}},
            {"summary",
             {{"lengths", std::vector<qint64>(g.lengths.begin(), g.lengths.end())},
              {"depths", std::vector<double>(g.depths.begin(), g.depths.end())},
              {"accuracy", accuracy},
              {"correct", correct},
              {"count", count}}}};
}

double probe_grid_overall(const ProbeGrid& g) {
    qint64 correct = 0, count = 0;
    for (qsizetype i = 0; i < g.lengths.size(); ++i)
        for (qsizetype j = 0; j < g.depths.size(); ++j) {
            correct += g.correct[i][j];
            count += g.count[i][j];
        }
    return count ? double(correct) / double(count) : std::nan("");
}

QString mixed_probes_error(const QVector<ProbeGrid>& grids) {
    QStringList probes, names;
    for (const ProbeGrid& g : grids) {
        if (!probes.contains(g.probe)) probes << g.probe;
        names << QObject::tr("%1 · %2 (%3)").arg(g.model, g.probe, g.source);
    }
    if (probes.size() < 2) return {};
    return QObject::tr(
               "Not shown: one view holds one probe, and these are %1: %2. Pick runs of "
               "one probe.")
        .arg(probes.join(QObject::tr(" and ")), names.join(QStringLiteral("; ")));
}

CsvRows probe_grid_rows(const ProbeGrid& g) {
    CsvRows rows;
    rows << QStringList{"model", "length", "depth", "accuracy", "correct", "count"};
    for (qsizetype i = 0; i < g.lengths.size(); ++i)
        for (qsizetype j = 0; j < g.depths.size(); ++j) {
            const double a = g.accuracy[i][j];
            rows << QStringList{g.model,
                                QString::number(g.lengths[i]),
                                QString::number(g.depths[j]),
                                std::isnan(a) ? QString() : QString::number(a, 'g', 10),
                                QString::number(g.correct[i][j]),
                                QString::number(g.count[i][j])};
        }
    return rows;
}

}  // namespace statescope::widgets
