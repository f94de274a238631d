// MainWindow's menus and their shortcuts (every action is also a window action, so its
// shortcut works while the menu bar is hidden).
#include "app/studio/main_window.h"

#include <QAction>
#include <QKeySequence>
#include <QLineEdit>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QTabWidget>

namespace statescope::studio {

void MainWindow::build_menus() {
    auto add = [this](QMenu* menu, const QString& text, const QKeySequence& key, auto fn) {
        QAction* a = menu->addAction(text);
        if (!key.isEmpty()) a->setShortcut(key);
        connect(a, &QAction::triggered, this, fn);
        addAction(a);  // shortcuts work when the menu bar is hidden too
        return a;
    };
    QMenu* file = menuBar()->addMenu(tr("&File"));
    add(file, tr("&New chat"), QKeySequence::New, [this] { newSession(); });
    add(file, tr("&Add models folder…"), QKeySequence::Open, [this] { add_models_folder(); });
    file->addSeparator();
    add(file, tr("Export chat as &Markdown…"), QKeySequence(tr("Ctrl+E")),
        [this] { export_current("md"); });
    add(file, tr("Export chat as &JSON…"), QKeySequence(tr("Ctrl+Shift+E")),
        [this] { export_current("json"); });
    add(file, tr("&Import chat…"), QKeySequence(tr("Ctrl+I")), [this] { import_dialog(); });
    file->addSeparator();
    add(file, tr("&Quit"), QKeySequence::Quit, [this] { close(); });

    QMenu* chat = menuBar()->addMenu(tr("&Chat"));
    add(chat, tr("&Send"), QKeySequence(tr("Ctrl+Return")),
        [this] { sendMessage(composer_->toPlainText()); });
    add(chat, tr("S&top"), QKeySequence(Qt::Key_Escape), [this] { stopGeneration(); });
    add(chat, tr("&Regenerate"), QKeySequence(tr("Ctrl+R")), [this] { regenerate(); });
    add(chat, tr("Show rendered &template"), QKeySequence(tr("Ctrl+T")),
        [this] { showTemplate(); });
    add(chat, tr("&Find in chats"), QKeySequence::Find, [this] {
        side_tabs_->setCurrentIndex(0);
        search_->setFocus();
        search_->selectAll();
    });

    QMenu* view = menuBar()->addMenu(tr("&View"));
    add(view, tr("&Chat"), QKeySequence(tr("Ctrl+1")), [this] { setView("chat"); });
    add(view, tr("&Inspector"), QKeySequence(tr("Ctrl+2")), [this] { setView("inspector"); });
    add(view, tr("C&ompare"), QKeySequence(tr("Ctrl+3")), [this] { setView("compare"); });
    view->addSeparator();
    add(view, tr("&Dark theme"), QKeySequence(tr("Ctrl+Shift+D")),
        [this] { setDarkTheme(!dark_); });
}

}  // namespace statescope::studio
