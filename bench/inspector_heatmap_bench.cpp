// statescope-bench-inspector-heatmap: the decay heatmap (widgets/inspector/decay_heatmap.h) on an
// 8k-token x 1.5k-channel matrix, offscreen: time from handing the matrix over to a finished
// picture (min/max binning to the plot's pixels, filling the QCPColorMap, replot), then a pan of
// the zoomed view frame by frame (each frame re-bins the visible range and replots). One JSON line
// with the command, CPU, load average and commit.
//   QT_QPA_PLATFORM=offscreen statescope-bench-inspector-heatmap [--tokens 8192] [--channels 1536]
//       [--size 1200x700] [--frames 60] [--repeats 5] [--out FILE]
#include <qcustomplot.h>
#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "widgets/inspector/decay_heatmap.h"

namespace {

std::string first_line(const char* path, const std::string& key = {}) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line))
        if (key.empty() || line.rfind(key, 0) == 0) return line;
    return {};
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    long tokens = 8192, channels = 1536, frames = 60, repeats = 5, w = 1200, h = 700;
    QString out;
    QStringList cmd;
    for (int i = 0; i < argc; ++i) cmd << argv[i];
    for (int i = 1; i + 1 < argc; ++i) {
        const QString a = argv[i], v = argv[i + 1];
        if (a == "--tokens")
            tokens = v.toLong();
        else if (a == "--channels")
            channels = v.toLong();
        else if (a == "--frames")
            frames = v.toLong();
        else if (a == "--repeats")
            repeats = v.toLong();
        else if (a == "--out")
            out = v;
        else if (a == "--size") {
            w = v.section('x', 0, 0).toLong();
            h = v.section('x', 1, 1).toLong();
        } else
            continue;
        ++i;
    }
    // decay-like values in (0, 1) with structure and a few isolated extremes
    std::vector<float> m(std::size_t(tokens * channels));
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> noise(0.0f, 0.05f);
    for (long t = 0; t < tokens; ++t)
        for (long c = 0; c < channels; ++c)
            m[std::size_t(t * channels + c)] =
                0.5f + 0.4f * std::sin(0.001f * float(t) + 0.01f * float(c)) + noise(rng);
    m[std::size_t(5000 * channels + 700)] = 0.0f;

    statescope::widgets::DecayHeatmap view;
    view.resize(int(w), int(h));
    view.show();
    app.processEvents();
    QCustomPlot* plot = view.plot();

    // first picture: bin + fill + replot (rpImmediateRefresh draws now, not on the next event)
    std::vector<double> first;
    for (long r = 0; r < repeats; ++r) {
        QElapsedTimer clock;
        clock.start();
        view.setMatrix(m.data(), tokens, channels, "bench");
        plot->replot(QCustomPlot::rpImmediateRefresh);
        first.push_back(double(clock.nsecsElapsed()) / 1e6);
    }
    const bool extreme_kept = view.bins().min == 0.0f;

    // pan: zoomed to 2000 tokens, shift by 40 tokens a frame; each frame re-bins and replots
    plot->xAxis->setRange(0, 2000);
    view.rebin();
    std::vector<double> frame;
    for (long f = 0; f < frames; ++f) {
        QElapsedTimer clock;
        clock.start();
        plot->xAxis->moveRange(40);
        view.rebin();
        plot->replot(QCustomPlot::rpImmediateRefresh);
        frame.push_back(double(clock.nsecsElapsed()) / 1e6);
    }

    QJsonObject j;
    j["bench"] = "inspector-heatmap";
    j["command"] = cmd.join(' ');
    j["tokens"] = double(tokens);
    j["channels"] = double(channels);
    j["plot_size"] = QString("%1x%2").arg(w).arg(h);
    j["bins"] = QString("%1x%2").arg(view.bins().nx).arg(view.bins().ny);
    j["first_picture_ms_median"] = median(first);
    j["first_picture_ms_max"] = *std::max_element(first.begin(), first.end());
    j["pan_frame_ms_median"] = median(frame);
    j["pan_frame_ms_max"] = *std::max_element(frame.begin(), frame.end());
    j["extreme_kept"] = extreme_kept;
    j["cpu"] =
        QString::fromStdString(first_line("/proc/cpuinfo", "model name")).section(':', 1).trimmed();
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
