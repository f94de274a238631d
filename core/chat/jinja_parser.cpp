#include "core/chat/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

#include "core/chat/jinja_builtins.h"
#include "core/chat/jinja_error.h"
#include "core/chat/jinja_lexer.h"

namespace statescope::jinja {

namespace {

std::string describe(const Token& t) {
    switch (t.type) {
        case Tok::Data:
            return "template data";
        case Tok::VariableBegin:
            return "begin of print statement";
        case Tok::VariableEnd:
            return "end of print statement";
        case Tok::BlockBegin:
            return "begin of statement block";
        case Tok::BlockEnd:
            return "end of statement block";
        case Tok::String:
            return "string";
        case Tok::Integer:
            return "integer";
        case Tok::Float:
            return "float";
        case Tok::Eof:
            return "end of template";
        default:
            return t.text;
    }
}

ExprPtr make(ExprKind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
}

class Parser {
  public:
    Parser(std::vector<Token> tokens, int max_nesting)
        : toks_(std::move(tokens)), max_nesting_(max_nesting) {}

    Template run() {
        Template t;
        t.body = subparse({});
        if (cur().type != Tok::Eof) error("unexpected " + describe(cur()), cur().line);
        return t;
    }

  private:
    // ---- token helpers
    const Token& cur() const { return toks_[i_]; }
    const Token& look() const { return toks_[std::min(i_ + 1, toks_.size() - 1)]; }
    void next() {
        if (i_ + 1 < toks_.size()) ++i_;
    }
    bool is_op(const char* op) const { return cur().type == Tok::Operator && cur().text == op; }
    bool is_name(const char* name) const { return cur().type == Tok::Name && cur().text == name; }
    bool skip_op(const char* op) {
        if (!is_op(op)) return false;
        next();
        return true;
    }
    bool skip_name(const char* name) {
        if (!is_name(name)) return false;
        next();
        return true;
    }
    [[noreturn]] void error(const std::string& msg, int line) const { throw Failure(msg, line); }
    void expect_op(const char* op) {
        if (!skip_op(op))
            error(std::string("expected '") + op + "', got '" + describe(cur()) + "'", cur().line);
    }
    void expect(Tok type, const char* what) {
        if (cur().type != type)
            error(std::string("expected ") + what + ", got '" + describe(cur()) + "'", cur().line);
        next();
    }
    std::string expect_name() {
        if (cur().type != Tok::Name)
            error("expected a name, got '" + describe(cur()) + "'", cur().line);
        std::string n = cur().text;
        next();
        return n;
    }
    void expect_block_end() { expect(Tok::BlockEnd, "end of statement block"); }

    struct Nest {
        explicit Nest(Parser& p) : p_(p) {
            if (++p_.nesting_ > p_.max_nesting_)
                p_.error("template nests too deeply (more than " + std::to_string(p_.max_nesting_) +
                             " levels)",
                         p_.cur().line);
        }
        ~Nest() { --p_.nesting_; }
        Parser& p_;
    };

    // ---- statements
    // Parses until a block tag whose name is in `ends`; leaves the cursor on that name token.
    Body subparse(std::initializer_list<const char*> ends, const char* opener = nullptr,
                  int opener_line = 0) {
        Nest nest(*this);
        Body body;
        while (true) {
            const Token& t = cur();
            if (t.type == Tok::Eof) {
                if (ends.size() == 0) return body;
                std::string wanted;
                for (const char* e : ends)
                    wanted += std::string(wanted.empty() ? "" : " or ") + "'" + e + "'";
                error("unexpected end of template: the '" + std::string(opener) +
                          "' block on line " + std::to_string(opener_line) +
                          " is never closed (expected " + wanted + ")",
                      t.line);
            }
            if (t.type == Tok::Data) {
                auto s = std::make_unique<Stmt>();
                s->kind = StmtKind::Text;
                s->line = t.line;
                s->text = t.text;
                body.push_back(std::move(s));
                next();
            } else if (t.type == Tok::VariableBegin) {
                next();
                auto s = std::make_unique<Stmt>();
                s->kind = StmtKind::Print;
                s->line = t.line;
                s->expr = parse_tuple(true, {}, false);
                expect(Tok::VariableEnd, "end of print statement");
                body.push_back(std::move(s));
            } else if (t.type == Tok::BlockBegin) {
                next();
                if (cur().type == Tok::Name)
                    for (const char* e : ends)
                        if (cur().text == e) return body;
                body.push_back(parse_statement());
                expect_block_end();
            } else {
                error("unexpected " + describe(t), t.line);
            }
        }
    }

    // Parses a body ending in `{% end %}` and consumes the end tag's name.
    Body body_until(const char* end, const char* opener, int line) {
        expect_block_end();
        Body b = subparse({end}, opener, line);
        next();
        return b;
    }

    StmtPtr new_stmt(StmtKind kind, int line) {
        auto s = std::make_unique<Stmt>();
        s->kind = kind;
        s->line = line;
        return s;
    }

    // Records the subtree height; left-associative chains (a+b+c..., x|f|g...) grow it without
    // recursion in the parser, so it is bounded here rather than by Nest.
    ExprPtr done(ExprPtr e) {
        int d = 0;
        auto see = [&](const ExprPtr& c) {
            if (c) d = std::max(d, c->depth);
        };
        see(e->a);
        see(e->b);
        see(e->c);
        for (const auto& i : e->items) see(i);
        for (const auto& o : e->ops) see(o.second);
        for (const auto& a : e->call.args) see(a);
        for (const auto& k : e->call.kwargs) see(k.value);
        see(e->call.dyn_args);
        see(e->call.dyn_kwargs);
        e->depth = d + 1;
        if (e->depth > max_nesting_)
            error("expression nests too deeply (more than " + std::to_string(max_nesting_) +
                      " levels)",
                  e->line);
        return e;
    }

    StmtPtr parse_statement() {
        const Token& t = cur();
        if (t.type != Tok::Name) error("tag name expected", t.line);
        const std::string tag = t.text;
        const int line = t.line;
        next();
        if (tag == "if") return parse_if(line);
        if (tag == "for") return parse_for(line);
        if (tag == "set") return parse_set(line);
        if (tag == "macro") return parse_macro(line);
        if (tag == "call") return parse_call_block(line);
        if (tag == "filter") return parse_filter_block(line);
        if (tag == "with") return parse_with(line);
        if (tag == "print") {
            auto s = new_stmt(StmtKind::Print, line);
            s->expr = parse_tuple(true, {}, false);
            return s;
        }
        if (tag == "break" || tag == "continue") {
            if (loop_depth_ == 0) error("'" + tag + "' outside of a for loop", line);
            return new_stmt(tag == "break" ? StmtKind::Break : StmtKind::Continue, line);
        }
        if (tag == "generation") {  // transformers' AssistantTracker extension: renders its body
            auto s = new_stmt(StmtKind::Scope, line);
            s->body = body_until("endgeneration", "generation", line);
            return s;
        }
        if (tag == "block") {
            auto s = new_stmt(StmtKind::Scope, line);
            s->text = expect_name();
            skip_name("scoped");
            skip_name("required");
            s->body = body_until("endblock", "block", line);
            if (cur().type == Tok::Name) next();  // {% endblock name %}
            return s;
        }
        if (tag == "extends" || tag == "include" || tag == "import" || tag == "from")
            error("'" + tag + "' is not supported: a chat template has no other templates to load",
                  line);
        error("unknown tag '" + tag + "'", line);
    }

    StmtPtr parse_if(int line) {
        auto s = new_stmt(StmtKind::If, line);
        while (true) {
            IfBranch br;
            br.test = parse_tuple(false, {}, false);
            expect_block_end();
            br.body = subparse({"elif", "else", "endif"}, "if", line);
            s->branches.push_back(std::move(br));
            const std::string tag = cur().text;
            next();
            if (tag == "elif") continue;
            if (tag == "else") s->else_body = body_until("endif", "if", line);
            break;
        }
        return s;
    }

    StmtPtr parse_for(int line) {
        auto s = new_stmt(StmtKind::For, line);
        s->target = parse_target(false, "in");
        if (!skip_name("in")) error("expected 'in', got '" + describe(cur()) + "'", cur().line);
        s->expr = parse_tuple(false, "recursive", false);
        if (skip_name("if")) s->cond = parse_expression(true);
        if (is_name("recursive")) error("recursive for loops are not supported", cur().line);
        expect_block_end();
        ++loop_depth_;
        s->body = subparse({"endfor", "else"}, "for", line);
        --loop_depth_;
        const std::string tag = cur().text;
        next();
        if (tag == "else") s->else_body = body_until("endfor", "for", line);
        return s;
    }

    StmtPtr parse_set(int line) {
        Target target = parse_target(true, nullptr);
        if (skip_op("=")) {
            auto s = new_stmt(StmtKind::Set, line);
            s->target = std::move(target);
            s->expr = parse_tuple(true, {}, false);
            return s;
        }
        auto s = new_stmt(StmtKind::SetBlock, line);
        s->target = std::move(target);
        if (is_op("|")) s->expr = parse_filter(nullptr, false);
        s->body = body_until("endset", "set", line);
        return s;
    }

    void parse_signature(Stmt& s) {
        expect_op("(");
        while (!is_op(")")) {
            if (!s.params.empty()) expect_op(",");
            if (cur().type != Tok::Name) error("expected a parameter name", cur().line);
            s.params.push_back(expect_name());
            if (skip_op("=")) {
                s.defaults.push_back(parse_expression(true));
            } else if (!s.defaults.empty()) {
                error("non-default argument follows default argument", cur().line);
            }
        }
        expect_op(")");
    }

    Body macro_body(Stmt& s, const char* end, const char* opener, int line) {
        const int saved_loops = loop_depth_;
        loop_depth_ = 0;
        macros_.push_back(&s);
        Body b = body_until(end, opener, line);
        macros_.pop_back();
        loop_depth_ = saved_loops;
        return b;
    }

    StmtPtr parse_macro(int line) {
        auto s = new_stmt(StmtKind::Macro, line);
        s->text = expect_name();
        parse_signature(*s);
        s->body = macro_body(*s, "endmacro", "macro", line);
        return s;
    }

    StmtPtr parse_call_block(int line) {
        auto s = new_stmt(StmtKind::CallBlock, line);
        if (is_op("(")) parse_signature(*s);
        s->expr = parse_expression(true);
        if (s->expr->kind != ExprKind::Call) error("expected call", line);
        s->body = macro_body(*s, "endcall", "call", line);
        return s;
    }

    StmtPtr parse_filter_block(int line) {
        auto s = new_stmt(StmtKind::FilterBlock, line);
        s->expr = parse_filter(nullptr, true);
        s->body = body_until("endfilter", "filter", line);
        return s;
    }

    StmtPtr parse_with(int line) {
        auto s = new_stmt(StmtKind::With, line);
        while (cur().type != Tok::BlockEnd) {
            if (!s->targets.empty()) expect_op(",");
            s->targets.push_back(parse_target(false, nullptr));
            expect_op("=");
            s->values.push_back(parse_expression(true));
        }
        s->body = body_until("endwith", "with", line);
        return s;
    }

    // parse_assign_target: a name, `ns.attr` (set only), or a tuple of those.
    Target parse_target(bool with_namespace, const char* extra_end) {
        Target t;
        bool is_tuple = false;
        std::vector<Target> items;
        while (true) {
            if (!items.empty()) expect_op(",");
            if (tuple_end(extra_end)) break;
            items.push_back(parse_target_primary(with_namespace));
            if (is_op(",")) {
                is_tuple = true;
            } else {
                break;
            }
        }
        if (!is_tuple) {
            if (items.empty()) error("expected an assignment target", cur().line);
            return std::move(items[0]);
        }
        t.tuple = true;
        t.items = std::move(items);
        return t;
    }

    Target parse_target_primary(bool with_namespace) {
        Nest nest(*this);
        Target t;
        if (cur().type == Tok::Name) {
            const std::string n = cur().text;
            if (n == "true" || n == "false" || n == "True" || n == "False" || n == "none" ||
                n == "None")
                error("can't assign to 'const'", cur().line);
            next();
            t.name = n;
            if (with_namespace && is_op(".")) {
                next();
                t.attr = expect_name();
            }
            return t;
        }
        if (skip_op("(")) {
            t = parse_target(with_namespace, nullptr);
            expect_op(")");
            return t;
        }
        error("can't assign to '" + describe(cur()) + "'", cur().line);
    }

    bool tuple_end(const char* extra_end) const {
        const Token& t = cur();
        if (t.type == Tok::VariableEnd || t.type == Tok::BlockEnd ||
            (t.type == Tok::Operator && t.text == ")"))
            return true;
        return extra_end && t.type == Tok::Name && t.text == extra_end;
    }

    // ---- expressions
    ExprPtr parse_expression(bool with_condexpr) {
        return with_condexpr ? parse_condexpr() : parse_or();
    }

    ExprPtr parse_condexpr() {
        Nest nest(*this);
        int line = cur().line;
        ExprPtr expr1 = parse_or();
        while (skip_name("if")) {
            auto e = make(ExprKind::CondExpr, line);
            e->b = parse_or();
            if (skip_name("else")) e->c = parse_condexpr();
            e->a = std::move(expr1);
            expr1 = done(std::move(e));
            line = cur().line;
        }
        return expr1;
    }

    ExprPtr parse_or() {
        int line = cur().line;
        ExprPtr left = parse_and();
        while (skip_name("or")) {
            auto e = make(ExprKind::Or, line);
            e->a = std::move(left);
            e->b = parse_and();
            left = done(std::move(e));
            line = cur().line;
        }
        return left;
    }

    ExprPtr parse_and() {
        int line = cur().line;
        ExprPtr left = parse_not();
        while (skip_name("and")) {
            auto e = make(ExprKind::And, line);
            e->a = std::move(left);
            e->b = parse_not();
            left = done(std::move(e));
            line = cur().line;
        }
        return left;
    }

    ExprPtr parse_not() {
        if (is_name("not")) {
            Nest nest(*this);
            auto e = make(ExprKind::Not, cur().line);
            next();
            e->a = parse_not();
            return done(std::move(e));
        }
        return parse_compare();
    }

    ExprPtr parse_compare() {
        const int line = cur().line;
        ExprPtr expr = parse_math1();
        std::vector<std::pair<CmpOp, ExprPtr>> ops;
        while (true) {
            CmpOp op;
            if (is_op("=="))
                op = CmpOp::Eq;
            else if (is_op("!="))
                op = CmpOp::Ne;
            else if (is_op("<"))
                op = CmpOp::Lt;
            else if (is_op("<="))
                op = CmpOp::LtEq;
            else if (is_op(">"))
                op = CmpOp::Gt;
            else if (is_op(">="))
                op = CmpOp::GtEq;
            else if (is_name("in"))
                op = CmpOp::In;
            else if (is_name("not") && look().type == Tok::Name && look().text == "in") {
                next();
                op = CmpOp::NotIn;
            } else {
                break;
            }
            next();
            ops.emplace_back(op, parse_math1());
        }
        if (ops.empty()) return expr;
        auto e = make(ExprKind::Compare, line);
        e->a = std::move(expr);
        e->ops = std::move(ops);
        return done(std::move(e));
    }

    ExprPtr binary(BinOp op, ExprPtr left, ExprPtr right, int line) {
        auto e = make(ExprKind::Binary, line);
        e->op = op;
        e->a = std::move(left);
        e->b = std::move(right);
        return done(std::move(e));
    }

    ExprPtr parse_math1() {
        int line = cur().line;
        ExprPtr left = parse_concat();
        while (is_op("+") || is_op("-")) {
            const BinOp op = is_op("+") ? BinOp::Add : BinOp::Sub;
            next();
            left = binary(op, std::move(left), parse_concat(), line);
            line = cur().line;
        }
        return left;
    }

    ExprPtr parse_concat() {
        const int line = cur().line;
        ExprPtr first = parse_math2();
        if (!is_op("~")) return first;
        auto e = make(ExprKind::Concat, line);
        e->items.push_back(std::move(first));
        while (skip_op("~")) e->items.push_back(parse_math2());
        return done(std::move(e));
    }

    ExprPtr parse_math2() {
        int line = cur().line;
        ExprPtr left = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const BinOp op = is_op("*")    ? BinOp::Mul
                             : is_op("/")  ? BinOp::Div
                             : is_op("//") ? BinOp::FloorDiv
                                           : BinOp::Mod;
            next();
            left = binary(op, std::move(left), parse_pow(), line);
            line = cur().line;
        }
        return left;
    }

    ExprPtr parse_pow() {
        int line = cur().line;
        ExprPtr left = parse_unary(true);
        while (skip_op("**")) {
            left = binary(BinOp::Pow, std::move(left), parse_unary(true), line);
            line = cur().line;
        }
        return left;
    }

    ExprPtr parse_unary(bool with_filter) {
        Nest nest(*this);
        const int line = cur().line;
        ExprPtr node;
        if (is_op("-") || is_op("+")) {
            node = make(is_op("-") ? ExprKind::Neg : ExprKind::Pos, line);
            next();
            node->a = parse_unary(false);
            node = done(std::move(node));
        } else {
            node = parse_primary();
        }
        node = parse_postfix(std::move(node));
        if (with_filter) node = parse_filter_expr(std::move(node));
        return node;
    }

    ExprPtr parse_primary() {
        Nest nest(*this);
        const Token& t = cur();
        const int line = t.line;
        if (t.type == Tok::Name) {
            ExprPtr e;
            if (t.text == "true" || t.text == "True" || t.text == "false" || t.text == "False") {
                e = make(ExprKind::Const, line);
                e->value = Value::boolean(t.text[0] == 't' || t.text[0] == 'T');
            } else if (t.text == "none" || t.text == "None") {
                e = make(ExprKind::Const, line);
                e->value = Value::none();
            } else {
                e = make(ExprKind::Name, line);
                e->name = t.text;
                note_name(t.text);
            }
            next();
            return e;
        }
        if (t.type == Tok::String) {
            std::string s = t.text;
            next();
            while (cur().type == Tok::String) {  // adjacent literals concatenate, as in Python
                s += cur().text;
                next();
            }
            auto e = make(ExprKind::Const, line);
            e->value = Value::string(std::move(s));
            return e;
        }
        if (t.type == Tok::Integer || t.type == Tok::Float) {
            auto e = make(ExprKind::Const, line);
            e->value =
                t.type == Tok::Integer ? Value::integer(t.int_value) : Value::number(t.float_value);
            next();
            return e;
        }
        if (is_op("(")) {
            next();
            ExprPtr e = parse_tuple(true, {}, true);
            expect_op(")");
            return e;
        }
        if (is_op("[")) {
            next();
            auto e = make(ExprKind::List, line);
            while (!is_op("]")) {
                if (!e->items.empty()) expect_op(",");
                if (is_op("]")) break;
                e->items.push_back(parse_expression(true));
            }
            expect_op("]");
            return done(std::move(e));
        }
        if (is_op("{")) {
            next();
            auto e = make(ExprKind::Dict, line);
            while (!is_op("}")) {
                if (!e->items.empty()) expect_op(",");
                if (is_op("}")) break;
                e->items.push_back(parse_expression(true));
                expect_op(":");
                e->items.push_back(parse_expression(true));
            }
            expect_op("}");
            return done(std::move(e));
        }
        error("unexpected '" + describe(t) + "'", line);
    }

    // parse_tuple: an expression, or a tuple when commas separate several.
    ExprPtr parse_tuple(bool with_condexpr, const char* extra_end, bool explicit_parens) {
        const int line = cur().line;
        std::vector<ExprPtr> args;
        bool is_tuple = false;
        while (true) {
            if (!args.empty()) expect_op(",");
            if (tuple_end(extra_end)) break;
            args.push_back(parse_expression(with_condexpr));
            if (is_op(",")) {
                is_tuple = true;
            } else {
                break;
            }
        }
        if (!is_tuple) {
            if (!args.empty()) return std::move(args[0]);
            if (!explicit_parens)
                error("expected an expression, got '" + describe(cur()) + "'", cur().line);
        }
        auto e = make(ExprKind::Tuple, line);
        e->items = std::move(args);
        return done(std::move(e));
    }

    ExprPtr parse_postfix(ExprPtr node) {
        while (true) {
            if (is_op(".") || is_op("[")) {
                node = parse_subscript(std::move(node));
            } else if (is_op("(")) {
                node = parse_call(std::move(node));
            } else {
                return node;
            }
        }
    }

    ExprPtr parse_filter_expr(ExprPtr node) {
        while (true) {
            if (is_op("|")) {
                node = parse_filter(std::move(node), false);
            } else if (is_name("is")) {
                node = parse_test(std::move(node));
            } else if (is_op("(")) {
                node = parse_call(std::move(node));
            } else {
                return node;
            }
        }
    }

    ExprPtr parse_subscript(ExprPtr node) {
        Nest nest(*this);
        const int line = cur().line;
        if (skip_op(".")) {
            if (cur().type == Tok::Name) {
                auto e = make(ExprKind::GetAttr, line);
                e->a = std::move(node);
                e->name = cur().text;
                next();
                return done(std::move(e));
            }
            if (cur().type != Tok::Integer) error("expected name or number", cur().line);
            auto e = make(ExprKind::GetItem, line);
            e->a = std::move(node);
            e->b = make(ExprKind::Const, line);
            e->b->value = Value::integer(cur().int_value);
            next();
            return done(std::move(e));
        }
        expect_op("[");
        std::vector<ExprPtr> args;
        while (!is_op("]")) {
            if (!args.empty()) expect_op(",");
            args.push_back(parse_subscribed());
        }
        expect_op("]");
        if (args.empty()) error("expected subscript expression", line);
        auto e = make(ExprKind::GetItem, line);
        e->a = std::move(node);
        if (args.size() == 1) {
            e->b = std::move(args[0]);
        } else {
            e->b = make(ExprKind::Tuple, line);
            e->b->items = std::move(args);
            e->b = done(std::move(e->b));
        }
        return done(std::move(e));
    }

    ExprPtr parse_subscribed() {
        const int line = cur().line;
        ExprPtr start;
        if (!is_op(":")) {
            start = parse_expression(true);
            if (!is_op(":")) return start;
        }
        next();  // the first ':'
        auto e = make(ExprKind::Slice, line);
        e->a = std::move(start);
        if (!is_op(":") && !is_op("]") && !is_op(",")) e->b = parse_expression(true);
        if (skip_op(":"))
            if (!is_op("]") && !is_op(",")) e->c = parse_expression(true);
        return done(std::move(e));
    }

    void parse_call_args(CallExprArgs& out) {
        const int line = cur().line;
        expect_op("(");
        bool require_comma = false;
        auto ensure = [&](bool ok) {
            if (!ok) error("invalid syntax for function call expression", line);
        };
        while (!is_op(")")) {
            if (require_comma) {
                expect_op(",");
                if (is_op(")")) break;  // trailing comma
            }
            if (is_op("*")) {
                ensure(!out.dyn_args && !out.dyn_kwargs);
                next();
                out.dyn_args = parse_expression(true);
            } else if (is_op("**")) {
                ensure(!out.dyn_kwargs);
                next();
                out.dyn_kwargs = parse_expression(true);
            } else if (cur().type == Tok::Name && look().type == Tok::Operator &&
                       look().text == "=") {
                ensure(!out.dyn_kwargs);
                std::string key = cur().text;
                next();
                next();
                out.kwargs.push_back(Keyword{std::move(key), parse_expression(true)});
            } else {
                ensure(!out.dyn_args && !out.dyn_kwargs && out.kwargs.empty());
                out.args.push_back(parse_expression(true));
            }
            require_comma = true;
        }
        expect_op(")");
    }

    ExprPtr parse_call(ExprPtr node) {
        Nest nest(*this);
        auto e = make(ExprKind::Call, cur().line);
        e->a = std::move(node);
        parse_call_args(e->call);
        return done(std::move(e));
    }

    ExprPtr parse_filter(ExprPtr node, bool start_inline) {
        Nest nest(*this);
        while (is_op("|") || start_inline) {
            if (!start_inline) next();
            start_inline = false;
            const int line = cur().line;
            std::string name = expect_name();
            while (skip_op(".")) name.append(1, '.').append(expect_name());
            auto e = make(ExprKind::Filter, line);
            e->name = name;
            e->filter = find_filter(name);
            e->a = std::move(node);
            if (is_op("(")) parse_call_args(e->call);
            node = done(std::move(e));
        }
        return node;
    }

    ExprPtr parse_test(ExprPtr node) {
        Nest nest(*this);
        const int line = cur().line;
        next();  // 'is'
        const bool negated = skip_name("not");
        std::string name = expect_name();
        while (skip_op(".")) name.append(1, '.').append(expect_name());
        auto e = make(ExprKind::Test, line);
        e->name = name;
        e->test = find_test(name);
        e->a = std::move(node);
        const Token& t = cur();
        if (is_op("(")) {
            parse_call_args(e->call);
        } else if ((t.type == Tok::Name || t.type == Tok::String || t.type == Tok::Integer ||
                    t.type == Tok::Float || is_op("[") || is_op("{")) &&
                   !(t.type == Tok::Name &&
                     (t.text == "else" || t.text == "or" || t.text == "and"))) {
            if (is_name("is")) error("You cannot chain multiple tests with is", t.line);
            e->call.args.push_back(parse_postfix(parse_primary()));
        }
        e = done(std::move(e));
        if (!negated) return e;
        auto n = make(ExprKind::Not, line);
        n->a = std::move(e);
        return done(std::move(n));
    }

    // Jinja passes caller/varargs/kwargs to a macro only when its body mentions them.
    void note_name(const std::string& name) {
        for (Stmt* m : macros_) {
            if (name == "caller") m->uses_caller = true;
            if (name == "varargs") m->uses_varargs = true;
            if (name == "kwargs") m->uses_kwargs = true;
        }
    }

    std::vector<Token> toks_;
    std::size_t i_ = 0;
    int nesting_ = 0;
    int max_nesting_;
    int loop_depth_ = 0;
    std::vector<Stmt*> macros_;
};

// Jinja2 reports an unknown filter or test when compiling, except inside an `if` statement or a
// conditional expression ("soft" frames), where it only fails if evaluated. Loop, macro, call,
// filter, with and set-block bodies start a new, non-soft frame.
void check_expr(const Expr* e, bool soft);

void check_body(const Body& body, bool soft) {
    for (const auto& s : body) {
        switch (s->kind) {
            case StmtKind::If:
                for (const auto& br : s->branches) {
                    check_expr(br.test.get(), true);
                    check_body(br.body, true);
                }
                check_body(s->else_body, true);
                break;
            case StmtKind::For:
                check_expr(s->expr.get(), soft);
                check_expr(s->cond.get(), false);
                check_body(s->body, false);
                check_body(s->else_body, false);
                break;
            case StmtKind::Print:
            case StmtKind::Set:
                check_expr(s->expr.get(), soft);
                break;
            case StmtKind::SetBlock:
            case StmtKind::FilterBlock:
                check_expr(s->expr.get(), soft);
                check_body(s->body, false);
                break;
            case StmtKind::Macro:
            case StmtKind::CallBlock:
                for (const auto& d : s->defaults) check_expr(d.get(), false);
                check_expr(s->expr.get(), soft);
                check_body(s->body, false);
                break;
            case StmtKind::With:
                for (const auto& v : s->values) check_expr(v.get(), soft);
                check_body(s->body, false);
                break;
            case StmtKind::Scope:
                check_body(s->body, false);
                break;
            default:
                break;
        }
    }
}

void check_expr(const Expr* e, bool soft) {
    if (!e) return;
    if (e->kind == ExprKind::CondExpr) soft = true;
    if (!soft && e->kind == ExprKind::Filter && !e->filter)
        throw Failure("unknown filter \"" + e->name + "\"", e->line);
    if (!soft && e->kind == ExprKind::Test && !e->test)
        throw Failure("unknown test \"" + e->name + "\"", e->line);
    check_expr(e->a.get(), soft);
    check_expr(e->b.get(), soft);
    check_expr(e->c.get(), soft);
    for (const auto& i : e->items) check_expr(i.get(), soft);
    for (const auto& op : e->ops) check_expr(op.second.get(), soft);
    for (const auto& a : e->call.args) check_expr(a.get(), soft);
    for (const auto& k : e->call.kwargs) check_expr(k.value.get(), soft);
    check_expr(e->call.dyn_args.get(), soft);
    check_expr(e->call.dyn_kwargs.get(), soft);
}

}  // namespace

Template parse(std::string_view source, int max_nesting) {
    Template t = Parser(tokenize(source), max_nesting).run();
    check_body(t.body, false);
    return t;
}

}  // namespace statescope::jinja
