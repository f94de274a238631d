#include "core/chat/jinja_renderer.h"

#include <algorithm>

#include "core/chat/jinja_builtins.h"
#include "core/chat/jinja_error.h"
#include "core/chat/py_string.h"

namespace statescope::jinja {

namespace {

std::shared_ptr<Scope> child_of(const std::shared_ptr<Scope>& parent) {
    auto s = std::make_shared<Scope>();
    s->parent = parent;
    return s;
}

// object_type_repr() in jinja2.utils: how Undefined messages name the object that lacked something.
std::string object_type_repr(const Value& v) {
    if (v.is_none()) return "None";
    if (v.is_namespace()) return "jinja2.utils.Namespace object";
    if (v.is_loop()) return "jinja2.runtime.LoopContext object";
    return type_name(v) + " object";
}

Value no_attribute(const Value& obj, const std::string& name) {
    return Value::undefined("'" + object_type_repr(obj) + "' has no attribute '" + name + "'");
}

Value no_element(const Value& obj, const Value& key) {
    return Value::undefined(object_type_repr(obj) + " has no element " + py_repr(key));
}

Value unsafe(const Value& obj, const std::string& name) {
    return Value::undefined(
        "access to attribute '" + name + "' of '" + type_name(obj) + "' object is unsafe.", true);
}

bool is_index(const Value& v) {
    return v.is_int() || v.is_bool();
}

// PySlice_AdjustIndices + collecting the selected positions.
std::vector<std::size_t> slice_positions(std::size_t n, const Value& start, const Value& stop,
                                         std::int64_t step) {
    const auto len = static_cast<std::int64_t>(n);
    auto adjust = [&](const Value& v, bool is_start) -> std::int64_t {
        const std::int64_t lower = step > 0 ? 0 : -1;
        const std::int64_t upper = step > 0 ? len : len - 1;
        if (v.is_none()) return (is_start == (step > 0)) ? lower : upper;
        std::int64_t x = v.int_like();
        if (x < 0) {
            x += len;
            if (x < lower) x = lower;
        } else if (x > upper) {
            x = upper;
        }
        return x;
    };
    const std::int64_t b = adjust(start, true), e = adjust(stop, false);
    // Walk in unsigned steps so a huge step (x[::-9223372036854775808]) cannot overflow.
    std::vector<std::size_t> out;
    const std::uint64_t stride =
        step > 0 ? static_cast<std::uint64_t>(step) : 0 - static_cast<std::uint64_t>(step);
    for (std::int64_t i = b; step > 0 ? i < e : i > e;) {
        out.push_back(static_cast<std::size_t>(i));
        const auto gap = static_cast<std::uint64_t>(step > 0 ? e - i : i - e);
        if (gap <= stride) break;
        i = step > 0 ? i + static_cast<std::int64_t>(stride)
                     : i - static_cast<std::int64_t>(stride);
    }
    return out;
}

}  // namespace

const Value* Scope::lookup(std::string_view name) const {
    for (const Scope* s = this; s; s = s->parent.get())
        for (const auto& kv : s->vars)
            if (kv.first == name) return &kv.second;
    return nullptr;
}

Value* Scope::find_local(std::string_view name) {
    for (auto& kv : vars)
        if (kv.first == name) return &kv.second;
    return nullptr;
}

void Scope::set(const std::string& name, Value v) {
    if (Value* existing = find_local(name)) {
        *existing = std::move(v);
    } else {
        vars.emplace_back(name, std::move(v));
    }
}

Renderer::DepthGuard::DepthGuard(Renderer&, int& counter, int limit, const char* what)
    : counter_(counter) {
    if (++counter_ > limit) {
        --counter_;
        fail(std::string(what) + " nest too deeply (limit " + std::to_string(limit) + ")");
    }
}

Renderer::Renderer(const Limits& limits, std::function<std::time_t()> now)
    : limits_(limits), now_(std::move(now)) {}

std::time_t Renderer::now() const {
    return now_ ? now_() : std::time(nullptr);
}

// Reading counts as work too: a loop calling s.count('x') on a 16 MB string a million times
// produces nothing but would run for hours.
void Renderer::charge_input(const Value& v) {
    if (v.is_string()) charge(v.as_string().size());
    if (v.is_list()) charge(v.as_list().items.size());
    if (v.is_dict()) charge(v.as_dict().items.size());
}

void Renderer::charge(std::uint64_t units) {
    spend(units);
}

void Renderer::check_size(std::size_t n, const char* what) const {
    if (n > limits_.max_output_bytes)
        fail(std::string(what) + " would exceed the limit of " +
             std::to_string(limits_.max_output_bytes) + " (bytes or items)");
}

std::string Renderer::render(const Template& t,
                             std::vector<std::pair<std::string, Value>> context) {
    WorkBudgetScope budget(&work_, limits_.max_work);
    globals_ = std::make_shared<Scope>();
    for (const char* name :
         {"range", "dict", "namespace", "joiner", "raise_exception", "strftime_now"}) {
        auto c = std::make_shared<CallableData>();
        c->kind = CallableKind::Builtin;
        c->name = name;
        globals_->vars.emplace_back(name, Value::callable(std::move(c)));
    }
    auto scope = child_of(globals_);
    scope->vars = std::move(context);
    std::string out;
    out_ = &out;
    // Macros capture their scope and namespaces can hold themselves: break such cycles at the end
    // (also when rendering fails) so nothing leaks.
    struct CycleBreaker {
        Renderer& r;
        ~CycleBreaker() {
            for (auto& w : r.closures_)
                if (auto s = w.lock()) s->vars.clear();
            for (auto& w : r.namespaces_)
                if (auto n = w.lock()) n->attrs.clear();
            r.closures_.clear();
            r.namespaces_.clear();
            r.globals_.reset();
        }
    } breaker{*this};
    exec_body(t.body, scope);
    out_ = nullptr;
    return out;
}

void Renderer::track(const std::shared_ptr<NamespaceData>& ns) {
    namespaces_.push_back(ns);
}

void Renderer::emit(std::string_view text) {
    if (out_->size() + text.size() > limits_.max_output_bytes)
        fail("the output would exceed the limit of " + std::to_string(limits_.max_output_bytes) +
             " bytes");
    charge(text.size());
    out_->append(text);
}

std::string Renderer::to_str(const Value& v) {
    if (v.is_string()) return v.as_string();
    std::string s = py_str(v);
    check_size(s.size(), "a printed value");
    return s;
}

std::string Renderer::render_body(const Body& body, const std::shared_ptr<Scope>& scope) {
    std::string buf;
    std::string* saved = out_;
    out_ = &buf;
    struct Restore {
        std::string*& slot;
        std::string* value;
        ~Restore() { slot = value; }
    } restore{out_, saved};
    exec_body(body, scope);
    return buf;
}

Renderer::Flow Renderer::exec_body(const Body& body, const std::shared_ptr<Scope>& scope) {
    for (const auto& s : body) {
        const Flow f = exec(*s, scope);
        if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
}

Renderer::Flow Renderer::exec(const Stmt& s, const std::shared_ptr<Scope>& scope) {
    try {
        DepthGuard depth(*this, eval_depth_, limits_.max_eval_depth, "statements and expressions");
        switch (s.kind) {
            case StmtKind::Text:
                emit(s.text);
                return Flow::Normal;
            case StmtKind::Print:
                emit(to_str(eval(*s.expr, scope)));
                return Flow::Normal;
            case StmtKind::If:
                for (const auto& br : s.branches)
                    if (truthy(eval(*br.test, scope))) return exec_body(br.body, scope);
                return exec_body(s.else_body, scope);
            case StmtKind::For:
                return exec_for(s, scope);
            case StmtKind::Set:
                assign(s.target, eval(*s.expr, scope), scope);
                return Flow::Normal;
            case StmtKind::SetBlock: {
                Value v = Value::string(render_body(s.body, child_of(scope)));
                if (s.expr) {
                    Value saved = std::move(block_input_);
                    block_input_ = std::move(v);
                    v = eval(*s.expr, scope);
                    block_input_ = std::move(saved);
                }
                assign(s.target, v, scope);
                return Flow::Normal;
            }
            case StmtKind::Macro: {
                auto c = std::make_shared<CallableData>();
                c->kind = CallableKind::Macro;
                c->name = s.text;
                c->node = &s;
                c->closure = scope;
                closures_.push_back(scope);
                scope->set(s.text, Value::callable(std::move(c)));
                return Flow::Normal;
            }
            case StmtKind::CallBlock:
                exec_call_block(s, scope);
                return Flow::Normal;
            case StmtKind::FilterBlock: {
                Value saved = std::move(block_input_);
                block_input_ = Value::string(render_body(s.body, child_of(scope)));
                Value v = eval(*s.expr, scope);
                block_input_ = std::move(saved);
                emit(to_str(v));
                return Flow::Normal;
            }
            case StmtKind::With: {
                auto inner = child_of(scope);
                for (std::size_t i = 0; i < s.targets.size(); ++i)
                    assign(s.targets[i], eval(*s.values[i], scope), inner);
                return exec_body(s.body, inner);
            }
            case StmtKind::Scope:
                return exec_body(s.body, child_of(scope));
            case StmtKind::Break:
                return Flow::Break;
            case StmtKind::Continue:
                return Flow::Continue;
        }
        return Flow::Normal;
    } catch (Failure& f) {
        if (!f.line()) f.set_line(s.line);
        throw;
    }
}

Renderer::Flow Renderer::exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope) {
    std::vector<Value> items = iterate(eval(*s.expr, scope));
    if (s.cond) {
        // The `if` clause filters before the loop runs, so loop.length/last see only kept items.
        std::vector<Value> kept;
        for (auto& item : items) {
            if (++loop_iterations_ > limits_.max_loop_iterations)
                fail("loop iterations exceed the limit of " +
                     std::to_string(limits_.max_loop_iterations));
            auto probe = child_of(scope);
            assign(s.target, item, probe);
            if (truthy(eval(*s.cond, probe))) kept.push_back(std::move(item));
        }
        items = std::move(kept);
    }
    if (items.empty()) return exec_body(s.else_body, child_of(scope));
    auto loop = std::make_shared<LoopData>();
    loop->items = Value::list(std::move(items)).list_ptr();
    const Value loop_value = Value::loop(loop);
    const std::size_t n = loop->items->items.size();
    for (std::size_t i = 0; i < n; ++i) {
        if (++loop_iterations_ > limits_.max_loop_iterations)
            fail("loop iterations exceed the limit of " +
                 std::to_string(limits_.max_loop_iterations));
        charge(1);
        loop->index0 = i;
        auto body_scope = child_of(scope);
        assign(s.target, loop->items->items[i], body_scope);
        body_scope->set("loop", loop_value);
        if (exec_body(s.body, body_scope) == Flow::Break) break;
    }
    return Flow::Normal;
}

void Renderer::exec_call_block(const Stmt& s, const std::shared_ptr<Scope>& scope) {
    auto c = std::make_shared<CallableData>();
    c->kind = CallableKind::Caller;
    c->name = "caller";
    c->node = &s;
    c->closure = scope;
    closures_.push_back(scope);
    const Expr& call_expr = *s.expr;
    Value callee = eval(*call_expr.a, scope);
    CallArgs args = eval_args(call_expr.call, scope);
    args.kwargs.emplace_back("caller", Value::callable(std::move(c)));
    Value result;
    try {
        result = call(callee, args);
    } catch (Failure& f) {
        if (!f.line()) f.set_line(call_expr.line);
        throw;
    }
    emit(to_str(result));
}

Value Renderer::lookup(const std::string& name, const std::shared_ptr<Scope>& scope) const {
    if (const Value* v = scope->lookup(name)) return *v;
    return Value::undefined("'" + name + "' is undefined");
}

void Renderer::assign(const Target& t, const Value& v, const std::shared_ptr<Scope>& scope) {
    if (t.tuple) {
        if (!(v.is_list() || v.is_dict() || v.is_string() || v.is_undefined() || v.is_iterator()))
            type_error("cannot unpack non-iterable " + type_name(v) + " object");
        std::vector<Value> items = iterate(v);
        if (items.size() < t.items.size())
            value_error("not enough values to unpack (expected " + std::to_string(t.items.size()) +
                        ", got " + std::to_string(items.size()) + ")");
        if (items.size() > t.items.size())
            value_error("too many values to unpack (expected " + std::to_string(t.items.size()) +
                        ")");
        for (std::size_t i = 0; i < items.size(); ++i) assign(t.items[i], items[i], scope);
        return;
    }
    if (!t.attr.empty()) {
        Value ns = lookup(t.name, scope);
        if (!ns.is_namespace()) fail("cannot assign attribute on non-namespace object");
        NamespaceData& data = ns.as_namespace();
        if (Value* slot = data.find(t.attr)) {
            *slot = v;
        } else {
            data.attrs.emplace_back(t.attr, v);
        }
        return;
    }
    scope->set(t.name, v);
}

std::vector<Value> Renderer::iterate(const Value& v) {
    std::vector<Value> out;
    switch (v.type()) {
        case Value::Type::Undefined:
            return out;
        case Value::Type::List:
            out = v.as_list().items;
            break;
        case Value::Type::Dict:
            out.reserve(v.as_dict().items.size());
            for (const auto& kv : v.as_dict().items) out.push_back(kv.first);
            break;
        case Value::Type::String: {
            const std::string& s = v.as_string();
            for (std::size_t i = 0; i < s.size();) {
                std::size_t j = i + 1;
                while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80) ++j;
                out.push_back(Value::string(s.substr(i, j - i)));
                i = j;
            }
            break;
        }
        case Value::Type::Iterator: {
            IteratorData& it = v.as_iterator();
            if (!it.consumed) out = it.items->items;
            it.consumed = true;  // a generator is exhausted by one pass
            break;
        }
        default:
            type_error("'" + type_name(v) + "' object is not iterable");
    }
    charge(out.size());
    return out;
}

Value Renderer::getattr(const Value& obj, const std::string& name) {
    if (obj.is_undefined()) fail_undefined(obj);
    if (name.size() > 1 && name[0] == '_' && name[1] == '_') return unsafe(obj, name);
    switch (obj.type()) {
        case Value::Type::Dict: {
            const MethodAccess access = method_access(obj, name);
            if (access == MethodAccess::Unsafe) return unsafe(obj, name);
            if (access == MethodAccess::Safe) break;
            if (const Value* v = obj.as_dict().find(name)) return *v;
            return no_attribute(obj, name);
        }
        case Value::Type::Namespace:
            if (Value* v = obj.as_namespace().find(name)) return *v;
            return no_attribute(obj, name);
        case Value::Type::Loop: {
            const LoopData& l = obj.as_loop();
            const std::size_t n = l.items->items.size(), i = l.index0;
            auto num = [](std::size_t x) { return Value::integer(static_cast<std::int64_t>(x)); };
            if (name == "index") return num(i + 1);
            if (name == "index0") return num(i);
            if (name == "revindex") return num(n - i);
            if (name == "revindex0") return num(n - i - 1);
            if (name == "first") return Value::boolean(i == 0);
            if (name == "last") return Value::boolean(i + 1 == n);
            if (name == "length") return num(n);
            if (name == "depth") return num(l.depth0 + 1);
            if (name == "depth0") return num(l.depth0);
            if (name == "previtem")
                return i > 0 ? l.items->items[i - 1]
                             : Value::undefined("there is no previous item");
            if (name == "nextitem")
                return i + 1 < n ? l.items->items[i + 1]
                                 : Value::undefined("there is no next item");
            if (name == "cycle" || name == "changed") break;
            return no_attribute(obj, name);
        }
        default: {
            const MethodAccess access = method_access(obj, name);
            if (access == MethodAccess::Unsafe) return unsafe(obj, name);
            if (access == MethodAccess::None) return no_attribute(obj, name);
        }
    }
    auto c = std::make_shared<CallableData>();
    c->kind = CallableKind::Method;
    c->name = name;
    c->receiver = std::make_shared<Value>(obj);
    return Value::callable(std::move(c));
}

Value Renderer::getitem(const Value& obj, const Value& key) {
    if (obj.is_undefined()) fail_undefined(obj);
    switch (obj.type()) {
        case Value::Type::Dict: {
            if (!hashable(key)) return no_element(obj, key);  // obj[key] raised TypeError
            if (const Value* v = obj.as_dict().find(key)) return *v;
            if (key.is_string()) {
                const MethodAccess access = method_access(obj, key.as_string());
                if (access == MethodAccess::None) return no_attribute(obj, key.as_string());
            }
            break;
        }
        case Value::Type::List: {
            const ListData& l = obj.as_list();
            if (is_index(key) && (l.kind == SeqKind::List || l.kind == SeqKind::Tuple)) {
                std::int64_t i = key.int_like();
                const auto n = static_cast<std::int64_t>(l.items.size());
                if (i < 0) i += n;
                if (i < 0 || i >= n) return no_element(obj, key);
                return l.items[static_cast<std::size_t>(i)];
            }
            break;
        }
        case Value::Type::String: {
            if (is_index(key)) {
                const std::string& s = obj.as_string();
                charge(s.size());  // finding the code point walks the string
                std::int64_t i = key.int_like();
                const auto n = static_cast<std::int64_t>(py::length(s));
                if (i < 0) i += n;
                if (i < 0 || i >= n) return no_element(obj, key);
                const std::size_t b = py::byte_offset(s, static_cast<std::size_t>(i));
                const std::size_t e = py::byte_offset(std::string_view(s).substr(b), 1);
                return Value::string(s.substr(b, e));
            }
            break;
        }
        default:
            break;
    }
    // obj[key] failed with a TypeError/LookupError: Jinja retries a string key as an attribute.
    if (key.is_string()) return getattr(obj, key.as_string());
    return no_element(obj, key);
}

Value Renderer::call(const Value& callee, const CallArgs& args) {
    if (callee.is_undefined()) fail_undefined(callee);
    if (!callee.is_callable()) type_error("'" + type_name(callee) + "' object is not callable");
    const CallableData& c = callee.as_callable();
    switch (c.kind) {
        case CallableKind::Macro:
        case CallableKind::Caller:
            return call_macro(c, args);
        case CallableKind::Builtin:
            return call_global(*this, c, args);
        case CallableKind::Method:
            charge_input(*c.receiver);
            return call_method(*this, *c.receiver, c.name, args);
    }
    return Value();
}

Value Renderer::call_macro(const CallableData& m, const CallArgs& args) {
    DepthGuard depth(*this, call_depth_, limits_.max_call_depth, "macro calls");
    const Stmt& s = *static_cast<const Stmt*>(m.node);
    auto scope = child_of(std::static_pointer_cast<Scope>(m.closure));
    const std::size_t nparams = s.params.size();
    std::vector<bool> bound(nparams, false);
    for (std::size_t i = 0; i < nparams && i < args.args.size(); ++i) {
        scope->set(s.params[i], args.args[i]);
        bound[i] = true;
    }
    std::vector<std::pair<std::string, Value>> extra_kwargs;
    bool have_caller = false;
    for (const auto& kw : args.kwargs) {
        auto it = std::find(s.params.begin(), s.params.end(), kw.first);
        if (it != s.params.end()) {
            const auto idx = static_cast<std::size_t>(it - s.params.begin());
            if (bound[idx])
                type_error("macro '" + m.name + "' got multiple values for argument '" + kw.first +
                           "'");
            scope->set(kw.first, kw.second);
            bound[idx] = true;
        } else if (kw.first == "caller" && s.uses_caller) {
            scope->set("caller", kw.second);
            have_caller = true;
        } else {
            extra_kwargs.push_back(kw);
        }
    }
    if (s.uses_caller && !have_caller &&
        std::find(s.params.begin(), s.params.end(), "caller") == s.params.end())
        scope->set("caller", Value::undefined("No caller defined"));
    if (s.uses_kwargs) {
        DictData d;
        for (auto& kw : extra_kwargs) d.items.emplace_back(Value::string(kw.first), kw.second);
        scope->set("kwargs", Value::dict(std::move(d)));
    } else if (!extra_kwargs.empty()) {
        if (extra_kwargs[0].first == "caller")
            type_error("macro '" + m.name +
                       "' was invoked with two values for the special caller argument");
        type_error("macro '" + m.name + "' takes no keyword argument '" + extra_kwargs[0].first +
                   "'");
    }
    if (s.uses_varargs) {
        std::vector<Value> rest;
        for (std::size_t i = nparams; i < args.args.size(); ++i) rest.push_back(args.args[i]);
        scope->set("varargs", Value::list(std::move(rest), SeqKind::Tuple));
    } else if (args.args.size() > nparams) {
        type_error("macro '" + m.name + "' takes not more than " + std::to_string(nparams) +
                   " argument(s)");
    }
    const std::size_t first_default = nparams - s.defaults.size();
    for (std::size_t i = 0; i < nparams; ++i) {
        if (bound[i]) continue;
        if (i >= first_default) {
            scope->set(s.params[i], eval(*s.defaults[i - first_default], scope));
        } else {
            scope->set(s.params[i],
                       Value::undefined("parameter '" + s.params[i] + "' was not provided"));
        }
    }
    return Value::string(render_body(s.body, scope));
}

Value Renderer::call_filter(std::string_view name, const Value& v, const CallArgs& args) {
    const FilterFn f = find_filter(name);
    if (!f) fail("unknown filter \"" + std::string(name) + "\"");
    return f(*this, v, args);
}

bool Renderer::call_test(std::string_view name, const Value& v, const CallArgs& args) {
    const TestFn t = find_test(name);
    if (!t) fail("unknown test \"" + std::string(name) + "\"");
    return t(*this, v, args);
}

CallArgs Renderer::eval_args(const CallExprArgs& a, const std::shared_ptr<Scope>& scope) {
    CallArgs out;
    for (const auto& e : a.args) out.args.push_back(eval(*e, scope));
    if (a.dyn_args)
        for (auto& v : iterate(eval(*a.dyn_args, scope))) out.args.push_back(std::move(v));
    for (const auto& k : a.kwargs) out.kwargs.emplace_back(k.name, eval(*k.value, scope));
    if (a.dyn_kwargs) {
        Value d = eval(*a.dyn_kwargs, scope);
        if (!d.is_dict()) type_error("argument after ** must be a mapping, not " + type_name(d));
        for (const auto& kv : d.as_dict().items) {
            if (!kv.first.is_string()) type_error("keywords must be strings");
            out.kwargs.emplace_back(kv.first.as_string(), kv.second);
        }
    }
    return out;
}

Value Renderer::eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
    try {
        DepthGuard depth(*this, eval_depth_, limits_.max_eval_depth, "statements and expressions");
        return eval_inner(e, scope);
    } catch (Failure& f) {
        if (!f.line()) f.set_line(e.line);
        throw;
    }
}

Value Renderer::eval_compare(const Expr& e, const std::shared_ptr<Scope>& scope) {
    Value left = eval(*e.a, scope);
    for (const auto& [op, rhs] : e.ops) {
        Value right = eval(*rhs, scope);
        bool r = false;
        switch (op) {
            case CmpOp::Eq:
                r = py_equal(left, right);
                break;
            case CmpOp::Ne:
                r = !py_equal(left, right);
                break;
            case CmpOp::Lt:
                r = py_less(left, right);
                break;
            case CmpOp::Gt:
                r = py_less(right, left);
                break;
            case CmpOp::LtEq:
                r = py_less(left, right) || py_equal(left, right);
                break;
            case CmpOp::GtEq:
                r = py_less(right, left) || py_equal(left, right);
                break;
            case CmpOp::In:
                r = contains(right, left);
                break;
            case CmpOp::NotIn:
                r = !contains(right, left);
                break;
        }
        if (!r) return Value::boolean(false);
        left = std::move(right);
    }
    return Value::boolean(true);
}

Value Renderer::eval_inner(const Expr& e, const std::shared_ptr<Scope>& scope) {
    switch (e.kind) {
        case ExprKind::Const:
            return e.value;
        case ExprKind::Name:
            return lookup(e.name, scope);
        case ExprKind::List:
        case ExprKind::Tuple: {
            std::vector<Value> items;
            items.reserve(e.items.size());
            for (const auto& i : e.items) items.push_back(eval(*i, scope));
            charge(items.size());
            return Value::list(std::move(items),
                               e.kind == ExprKind::Tuple ? SeqKind::Tuple : SeqKind::List);
        }
        case ExprKind::Dict: {
            DictData d;
            for (std::size_t i = 0; i + 1 < e.items.size(); i += 2) {
                Value k = eval(*e.items[i], scope);
                Value v = eval(*e.items[i + 1], scope);
                if (!hashable(k)) unhashable(k);
                bool replaced = false;
                for (auto& kv : d.items) {
                    if (py_equal(kv.first, k)) {
                        kv.second = v;  // a repeated key keeps its first position, as in Python
                        replaced = true;
                        break;
                    }
                }
                if (!replaced) d.items.emplace_back(std::move(k), std::move(v));
            }
            charge(d.items.size());
            return Value::dict(std::move(d));
        }
        case ExprKind::GetAttr:
            return getattr(eval(*e.a, scope), e.name);
        case ExprKind::GetItem: {
            Value obj = eval(*e.a, scope);
            if (e.b->kind != ExprKind::Slice) return getitem(obj, eval(*e.b, scope));
            const Expr& sl = *e.b;
            Value start = sl.a ? eval(*sl.a, scope) : Value::none();
            Value stop = sl.b ? eval(*sl.b, scope) : Value::none();
            Value step_v = sl.c ? eval(*sl.c, scope) : Value::none();
            // Jinja compiles x[a:b] to a plain Python subscript (no sandbox getitem), so failures
            // raise instead of turning into Undefined.
            if (obj.is_undefined()) fail_undefined(obj);
            if (obj.is_dict()) type_error("unhashable type: 'slice'");
            const bool sliceable =
                obj.is_string() || (obj.is_list() && (obj.as_list().kind == SeqKind::List ||
                                                      obj.as_list().kind == SeqKind::Tuple));
            if (!sliceable) type_error("'" + type_name(obj) + "' object is not subscriptable");
            for (const Value* v : {&start, &stop, &step_v})
                if (!v->is_none() && !is_index(*v))
                    type_error(
                        "slice indices must be integers or None or have an __index__ method");
            const std::int64_t step = step_v.is_none() ? 1 : step_v.int_like();
            if (step == 0) value_error("slice step cannot be zero");
            if (obj.is_string()) {
                const std::u32string u = py::decode(obj.as_string());
                std::u32string r;
                for (std::size_t i : slice_positions(u.size(), start, stop, step)) r += u[i];
                return Value::string(py::encode(r));
            }
            if (obj.is_list() &&
                (obj.as_list().kind == SeqKind::List || obj.as_list().kind == SeqKind::Tuple)) {
                const ListData& l = obj.as_list();
                std::vector<Value> r;
                for (std::size_t i : slice_positions(l.items.size(), start, stop, step))
                    r.push_back(l.items[i]);
                charge(r.size());
                return Value::list(std::move(r), l.kind);
            }
            return Value();  // unreachable: sliceable above
        }
        case ExprKind::Slice:
            fail("a slice is only valid inside [...]");
        case ExprKind::Call: {
            Value callee = eval(*e.a, scope);
            CallArgs args = eval_args(e.call, scope);
            Value r = call(callee, args);
            if (r.is_string()) {
                check_size(r.as_string().size(), "a string");
                charge(r.as_string().size());
            }
            return r;
        }
        case ExprKind::Filter: {
            if (!e.filter) fail("unknown filter \"" + e.name + "\"");
            Value input = e.a ? eval(*e.a, scope) : block_input_;
            CallArgs args = eval_args(e.call, scope);
            charge_input(input);
            Value r = e.filter(*this, input, args);
            if (r.is_string()) {
                check_size(r.as_string().size(), "a string");
                charge(r.as_string().size());
            }
            return r;
        }
        case ExprKind::Test: {
            if (!e.test) fail("unknown test \"" + e.name + "\"");
            Value input = eval(*e.a, scope);
            charge_input(input);
            CallArgs args = eval_args(e.call, scope);
            return Value::boolean(e.test(*this, input, args));
        }
        case ExprKind::Neg:
        case ExprKind::Pos: {
            Value v = eval(*e.a, scope);
            if (v.is_undefined()) fail_undefined(v);
            const bool neg = e.kind == ExprKind::Neg;
            if (v.is_float()) return Value::number(neg ? -v.as_float() : v.as_float());
            if (v.is_int() || v.is_bool()) {
                const std::int64_t i = v.int_like();
                if (neg && i == INT64_MIN) fail("OverflowError: integer negation exceeds 64 bits");
                return Value::integer(neg ? -i : i);
            }
            type_error(std::string("bad operand type for unary ") + (neg ? "-" : "+") + ": '" +
                       type_name(v) + "'");
        }
        case ExprKind::Not:
            return Value::boolean(!truthy(eval(*e.a, scope)));
        case ExprKind::Binary:
            return binary_op(*this, e.op, eval(*e.a, scope), eval(*e.b, scope));
        case ExprKind::And: {
            Value l = eval(*e.a, scope);
            return truthy(l) ? eval(*e.b, scope) : l;
        }
        case ExprKind::Or: {
            Value l = eval(*e.a, scope);
            return truthy(l) ? l : eval(*e.b, scope);
        }
        case ExprKind::Concat: {
            std::string s;
            for (const auto& i : e.items) {
                s += to_str(eval(*i, scope));
                check_size(s.size(), "a string");
            }
            charge(s.size());
            return Value::string(std::move(s));
        }
        case ExprKind::Compare:
            return eval_compare(e, scope);
        case ExprKind::CondExpr:
            if (truthy(eval(*e.b, scope))) return eval(*e.a, scope);
            if (e.c) return eval(*e.c, scope);
            return Value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                                    " evaluated to false and no else section was defined.");
    }
    return Value();
}

}  // namespace statescope::jinja
