// statescope-bench-inspector-panels: the UI thread's cost when an analysis arrives. A synthetic
// Inspection the size of a 24-layer model with 1.5k heads/channels on an 8k-token text (two layers
// with [T, U] matrices, as the default matrix budget keeps them; per-token means, logit lens, state
// statistics and implicit-attention maps for all) is handed to each inspector view with setData,
// offscreen; one JSON line with the time per view and the total.
//   QT_QPA_PLATFORM=offscreen statescope-bench-inspector-panels [--tokens 8192] [--channels 1536]
//       [--layers 24] [--out FILE]
#include <qcustomplot.h>
#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <cstdio>
#include <fstream>
#include <random>

#include "bench/inspector_bench_support.h"
#include "widgets/inspector/attention_map.h"
#include "widgets/inspector/decay_heatmap.h"
#include "widgets/inspector/delta_strip.h"
#include "widgets/inspector/logit_lens_table.h"
#include "widgets/inspector/lyapunov_plot.h"
#include "widgets/inspector/receptive_field_view.h"
#include "widgets/inspector/retention_plot.h"
#include "widgets/inspector/state_norm_plot.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    const statescope::bench::InspectorArgs args(argc, argv,
                                                {"--tokens", "--channels", "--layers", "--out"});
    const long T = args.number("--tokens", 8192), U = args.number("--channels", 1536),
               L = args.number("--layers", 24);
    const QString out = args.text("--out");
    using namespace statescope;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> uni(0.001f, 0.1f);
    auto in = std::make_shared<Inspection>();
    in->tokens = T;
    in->n_layers = L;
    in->window_from = T - 48;
    in->lens_k = 3;
    for (long t = 0; t < T; ++t) in->ids.push_back(int(t % 500));
    for (long l = 0; l < L; ++l) {
        InspectionLayer il;
        il.index = l;
        il.kind = MixerKind::Mamba2;
        il.units = U;
        il.delta_mean.assign(std::size_t(T), 0.01f);
        il.kept_share.assign(std::size_t(T), 0.5f);
        il.decay.decay_mean.assign(std::size_t(U), 0.9);
        for (long u = 0; u < U; ++u) {
            const double lambda = -0.001 * double(1 + u % 100);
            il.lyapunov.exponents.push_back(lambda);
            il.lyapunov.mean_delta.push_back(0.01);
            il.decay.half_life.push_back(std::log(2.0) / -lambda);
            il.log_tA_prod.push_back(lambda * double(T));
            il.global.push_back(u % 3 == 0);
        }
        il.decay.half_life_quantiles = {6.9, 10, 100, 500, 693};
        il.lyapunov.max = -0.001;
        for (long p = 256; p <= T; p += 256) {
            StateStats s;
            s.position = p;
            s.mean.assign(std::size_t(U), 0.0f);
            s.var = s.rms = s.cos_prev = s.mean;
            il.state_stats.push_back(std::move(s));
        }
        if (l == 0 || l == L / 2) {  // the matrices the default budget keeps
            il.delta.resize(std::size_t(T * U));
            for (auto& v : il.delta) v = uni(rng);
            il.decay.decay.resize(il.delta.size());
            for (std::size_t k = 0; k < il.delta.size(); ++k)
                il.decay.decay[k] = std::exp(-il.delta[k]);
        }
        in->layers.push_back(std::move(il));
        for (long u = 0; u < 6; ++u)
            in->implicit.push_back({l, u, std::vector<float>(48 * 48, 0.01f)});
        LensLayer lens;
        lens.index = l;
        lens.top_ids.assign(std::size_t(T * 3), 7);
        lens.top_probs.assign(std::size_t(T * 3), 0.3f);
        lens.next_prob.assign(std::size_t(T), 0.1f);
        lens.next_rank.assign(std::size_t(T), 4);
        in->lens.push_back(std::move(lens));
    }
    widgets::InspectorData d;
    d.core = in;
    for (long t = 0; t < T; ++t) {
        d.offsets << int(d.text.size());
        d.tokens << QString(" w%1").arg(t);
        d.text += d.tokens.last();
    }
    d.vocab.insert(7, " the");

    widgets::DeltaStrip strip;
    widgets::DecayHeatmap heatmap;
    widgets::RetentionPlot retention;
    widgets::ReceptiveFieldView receptive;
    widgets::LyapunovPlot lyapunov;
    widgets::StateNormPlot states;
    widgets::AttentionMap attention;
    widgets::LogitLensTable lens;
    const QList<QPair<QString, widgets::PlotPanel*>> panels = {
        {"delta_strip", &strip},          {"decay_heatmap", &heatmap}, {"retention", &retention},
        {"receptive_fields", &receptive}, {"lyapunov", &lyapunov},     {"state_norms", &states},
        {"attention", &attention},        {"logit_lens", &lens}};
    QJsonObject ms;
    double total = 0;
    for (const auto& [name, p] : panels) {
        p->resize(700, 450);
        p->show();
    }
    app.processEvents();
    for (const auto& [name, p] : panels) {
        QElapsedTimer clock;
        clock.start();
        p->setData(d);
        p->plot()->replot(QCustomPlot::rpImmediateRefresh);
        const double t = double(clock.nsecsElapsed()) / 1e6;
        ms[name] = t;
        total += t;
    }
    QJsonObject j;
    j["bench"] = "inspector-panels";
    j["tokens"] = double(T);
    j["channels"] = double(U);
    j["layers"] = double(L);
    j["set_data_ms"] = ms;
    j["total_ms"] = total;
    return statescope::bench::print_inspector_result(j, argc, argv, out);
}
