// Tree-walking interpreter for parsed templates, with the semantics of Jinja2's
// ImmutableSandboxedEnvironment: Python truthiness/arithmetic/str(), Jinja's Undefined, its scoping
// (for/macro/call/filter/with/set-block bodies open a scope, if does not), the sandbox's attribute
// rules and Jinja2's loop object. Everything a hostile template could exhaust is bounded (Limits).
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/chat/jinja_ast.h"
#include "core/chat/jinja_value.h"

namespace statescope::jinja {

struct Limits {
    std::size_t max_output_bytes = std::size_t{16} << 20;  // also caps any single string or list
    std::uint64_t max_loop_iterations = 1'000'000;         // total over all for loops
    int max_call_depth = 100;                              // nested macro / caller() calls
    int max_eval_depth = 1500;                             // nested statements + expressions
    std::uint64_t max_work = std::uint64_t{1} << 28;       // bytes + elements produced overall
    std::int64_t max_range = 100000;                       // jinja2.sandbox.MAX_RANGE
};

struct Scope {
    std::shared_ptr<Scope> parent;
    std::vector<std::pair<std::string, Value>> vars;

    const Value* lookup(std::string_view name) const;
    Value* find_local(std::string_view name);
    void set(const std::string& name, Value v);
};

class Renderer {
  public:
    Renderer(const Limits& limits, std::function<std::time_t()> now);

    // Renders `t` with `context` as the template's variables (on top of Jinja's globals).
    std::string render(const Template& t, std::vector<std::pair<std::string, Value>> context);

    // Services for filters, tests, methods and globals.
    void charge(std::uint64_t units);   // work budget; throws when exhausted
    void charge_input(const Value& v);  // the cost of reading a string/list/dict once
    void check_size(std::size_t n, const char* what) const;  // single string/list bound
    const Limits& limits() const { return limits_; }
    std::time_t now() const;
    Value call(const Value& callee, const CallArgs& args);
    Value call_filter(std::string_view name, const Value& v, const CallArgs& args);
    bool call_test(std::string_view name, const Value& v, const CallArgs& args);
    Value getattr(const Value& obj, const std::string& name);  // the sandbox's getattr
    Value getitem(const Value& obj, const Value& key);         // the sandbox's getitem
    // Python iteration: list items, dict keys, string characters, Undefined -> nothing.
    std::vector<Value> iterate(const Value& v);
    std::string to_str(const Value& v);                    // str(v), bounded by the output limit
    void track(const std::shared_ptr<NamespaceData>& ns);  // namespace() objects, see render()

  private:
    enum class Flow { Normal, Break, Continue };

    Flow exec_body(const Body& body, const std::shared_ptr<Scope>& scope);
    Flow exec(const Stmt& s, const std::shared_ptr<Scope>& scope);
    Flow exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope);
    void exec_call_block(const Stmt& s, const std::shared_ptr<Scope>& scope);
    std::string render_body(const Body& body, const std::shared_ptr<Scope>& scope);
    Value eval(const Expr& e, const std::shared_ptr<Scope>& scope);
    Value eval_inner(const Expr& e, const std::shared_ptr<Scope>& scope);
    Value eval_compare(const Expr& e, const std::shared_ptr<Scope>& scope);
    CallArgs eval_args(const CallExprArgs& a, const std::shared_ptr<Scope>& scope);
    Value lookup(const std::string& name, const std::shared_ptr<Scope>& scope) const;
    void assign(const Target& t, const Value& v, const std::shared_ptr<Scope>& scope);
    Value call_macro(const CallableData& m, const CallArgs& args);
    void emit(std::string_view text);

    struct DepthGuard {
        DepthGuard(Renderer& r, int& counter, int limit, const char* what);
        ~DepthGuard() { --counter_; }
        int& counter_;
    };

    Limits limits_;
    std::function<std::time_t()> now_;
    std::shared_ptr<Scope> globals_;
    std::string* out_ = nullptr;
    Value block_input_;  // input of the innermost filter chain of a filter/set block
    std::uint64_t loop_iterations_ = 0;
    std::uint64_t work_ = 0;
    int call_depth_ = 0;
    int eval_depth_ = 0;
    std::vector<std::weak_ptr<Scope>> closures_;  // scopes captured by macros and callers
    std::vector<std::weak_ptr<NamespaceData>> namespaces_;
};

// The remaining pieces of the runtime, each in its own file.
// str/dict/list methods (jinja_methods.cpp). method_access tells getattr whether a name is a
// method the sandbox allows (Safe), one it refuses (Unsafe: list.append ...) or no method (None).
enum class MethodAccess { None, Safe, Unsafe };
MethodAccess method_access(const Value& receiver, std::string_view name);
Value call_method(Renderer& r, const Value& receiver, const std::string& name,
                  const CallArgs& args);
// Jinja globals (jinja_globals.cpp): range, dict, namespace, joiner, raise_exception,
// strftime_now, and the callables joiner() returns.
Value call_global(Renderer& r, const CallableData& fn, const CallArgs& args);
// Python's `%` string formatting (the `%` operator and the `format` filter; jinja_operators.cpp).
std::string percent_format(Renderer& r, const std::string& fmt, const Value& args);
// Python's str.format (jinja_str_format.cpp).
std::string str_format(Renderer& r, const std::string& fmt, const CallArgs& args);
// Python arithmetic on Values (jinja_operators.cpp).
Value binary_op(Renderer& r, BinOp op, const Value& a, const Value& b);
bool contains(const Value& container, const Value& item);  // Python `item in container`

}  // namespace statescope::jinja
