// The studio as a user first starts it from the source tree: no model named, no settings, no
// STATESCOPE_DEMO_MODELS. It must list the four demo-zoo models of resources/models, load the first
// one (zoo-hybrid) by itself, and chat with it.
#include <QLabel>
#include <QListWidget>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/studio/model_library.h"
#include "gui_test_support.h"
#include "widgets/chat_view.h"

namespace gt = statescope::gui_test;
using statescope::studio::MainWindow;

class DemoZooTest : public QObject {
    Q_OBJECT

  private slots:
    void initTestCase() { qunsetenv("STATESCOPE_DEMO_MODELS"); }

    void demoFolderIsTheZoo() {
        const QStringList dirs = statescope::studio::demo_model_dirs();
        QCOMPARE(dirs.size(), 1);
        QVERIFY2(dirs.first().endsWith("resources/models"), qPrintable(dirs.first()));
        QStringList names;
        for (const auto& e : statescope::studio::scan_folder(dirs.first(), "demo")) names << e.name;
        QCOMPARE(names, QStringList({"zoo-hybrid", "zoo-llama", "zoo-mamba", "zoo-mamba2"}));
    }

    void studioStartsOnTheZooAndChats() {
        QTemporaryDir dir;
        QStandardPaths::setTestModeEnabled(true);
        QSettings().clear();
        statescope::studio::StudioOptions options;
        options.db_path = dir.filePath("sessions.db");  // no model: the studio picks the first demo
        MainWindow window(options);
        window.resize(1200, 760);
        window.show();
        QVERIFY(QTest::qWaitFor([&] { return window.hasModel(); }, 30000));
        QStringList listed;
        for (int i = 0; i < window.modelList()->count(); ++i)
            listed << window.modelList()->item(i)->text();
        for (const char* name : {"zoo-hybrid", "zoo-llama", "zoo-mamba", "zoo-mamba2"})
            QVERIFY2(listed.join('\n').contains(name), qPrintable(listed.join(", ")));
        auto* card = window.findChild<QLabel*>("architectureCard");
        QVERIFY(card);
        QVERIFY2(card->text().contains("nemotron_h"), qPrintable(card->text()));

        QSignalSpy finished(&window, &MainWindow::replyFinished);
        window.sendMessage("Tell me a story about Lily.");
        QVERIFY(finished.wait(60000));
        QCOMPARE(window.chatView()->count(), 2);
        QCOMPARE(window.chatView()->bubble(0)->item().text, QString("Tell me a story about Lily."));
        // the reply is the model's own words: more than a few characters of text
        const QString reply = window.chatView()->lastText();
        QVERIFY2(reply.trimmed().size() > 20, qPrintable(reply));
        QVERIFY(gt::save_screenshot(&window, "zoo-hybrid-chat", 200));
    }
};

STATESCOPE_GUI_TEST_MAIN(DemoZooTest)
#include "demo_zoo_test.moc"
