// statescope: the studio. `statescope --screenshot FILE` loads, optionally sends a prompt and waits
// for the reply, shows a view and saves a PNG of the window, then exits (works with
// QT_QPA_PLATFORM=offscreen).
#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QTimer>
#include <cstdio>

#include "app/studio/main_window.h"
#include "app/studio/studio_app.h"

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    statescope::studio::init_application();

    QCommandLineParser parser;
    parser.setApplicationDescription(
        QObject::tr("Run and look inside state-space and hybrid language models."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption screenshot("screenshot", QObject::tr("Save a PNG of the window and exit."),
                                  "FILE");
    QCommandLineOption model("model", QObject::tr("Model folder to load."), "DIR");
    QCommandLineOption prompt(
        "prompt", QObject::tr("With --screenshot: send this and wait for the reply."), "S");
    QCommandLineOption view(
        "view",
        QObject::tr("chat, inspector or compare; inspector:NAME raises one inspector view (delta, "
                    "decay, retention, receptive, lyapunov, state-norms, attention, lens)."),
        "VIEW", "chat");
    QCommandLineOption size("size", QObject::tr("Window size, WxH."), "WxH", "1280x800");
    QCommandLineOption db("db", QObject::tr("Session database (default: the app data folder)."),
                          "PATH");
    QCommandLineOption max_new("max-new", QObject::tr("Max new tokens for --prompt."), "N");
    QCommandLineOption dark("dark", QObject::tr("Dark theme."));
    QCommandLineOption compare(
        "compare",
        QObject::tr("With --view compare: compare these model folders (comma-separated); "
                    "--model given several times does the same."),
        "DIR1,DIR2");
    parser.addOptions({screenshot, model, prompt, view, size, db, max_new, dark, compare});
    parser.process(app);

    QStringList compare_models = parser.value(compare).split(',', Qt::SkipEmptyParts);
    if (compare_models.isEmpty() && parser.values(model).size() > 1)
        compare_models = parser.values(model);

    statescope::studio::StudioOptions options;
    // Folders given for a comparison are not loaded into the chat (they may have no tokenizer).
    if (compare_models.isEmpty()) options.model = parser.value(model);
    options.db_path = parser.value(db);
    statescope::studio::MainWindow window(options);
    if (parser.isSet(dark)) window.setDarkTheme(true);
    if (parser.isSet(size) || parser.isSet(screenshot)) {
        const QStringList wh = parser.value(size).split('x');
        if (wh.size() != 2 || wh[0].toInt() <= 0 || wh[1].toInt() <= 0) {
            std::fprintf(stderr, "statescope: --size must be WxH, e.g. 1280x800\n");
            return 2;
        }
        window.resize(wh[0].toInt(), wh[1].toInt());
    }
    window.show();
    if (!parser.isSet(screenshot)) return app.exec();

    statescope::studio::ScreenshotJob job;
    job.file = parser.value(screenshot);
    job.prompt = parser.value(prompt);
    job.view = parser.value(view);
    if (job.view == "compare") job.compare_models = compare_models;
    if (parser.isSet(max_new)) job.max_new_tokens = parser.value(max_new).toLongLong();
    return statescope::studio::run_screenshot(app, window, job);
}
