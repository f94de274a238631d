// The inspector benches' flags and result line. They run a QApplication offscreen and parse argv
// by hand (no CLI11 next to Qt's own arguments).
#pragma once

#include <QByteArray>
#include <QFile>
#include <QHash>
#include <QJsonDocument>
#include <QJsonObject>
#include <QString>
#include <QStringList>
#include <cstdio>

#include "bench/bench_support.h"

namespace statescope::bench {

// "--name value" for each of the given names; any other word is passed over on its own, so an
// unknown flag does not take the next one as its value.
class InspectorArgs {
  public:
    InspectorArgs(int argc, char** argv, const QStringList& names) {
        for (int i = 1; i + 1 < argc; ++i)
            if (names.contains(argv[i])) {
                values_[argv[i]] = argv[i + 1];
                ++i;
            }
    }
    long number(const QString& name, long fallback) const {
        const auto it = values_.find(name);
        return it == values_.end() ? fallback : it->toLong();
    }
    QString text(const QString& name) const { return values_.value(name); }

  private:
    QHash<QString, QString> values_;
};

// Adds the command, CPU, load average and commit to `j`, prints it as one JSON line and appends
// that to `out` when given; returns the exit code (1 when `out` cannot be opened).
inline int print_inspector_result(QJsonObject j, int argc, char** argv, const QString& out) {
    j["command"] = QString::fromStdString(command_line(argc, argv));
    j["cpu"] = QString::fromStdString(cpu_name());
    j["load_average"] = QString::fromStdString(first_line("/proc/loadavg"));
    j["commit"] = STATESCOPE_COMMIT;
    const QByteArray line = QJsonDocument(j).toJson(QJsonDocument::Compact) + "\n";
    std::fputs(line.constData(), stdout);
    if (!out.isEmpty()) {
        QFile f(out);
        if (!f.open(QIODevice::Append)) return 1;
        f.write(line);
    }
    return 0;
}

}  // namespace statescope::bench
