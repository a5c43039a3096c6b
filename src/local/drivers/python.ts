/**
 * The driver of a Python code context, run as `python3 -c PYTHON_DRIVER <nonce>`: a source string, not a file, because
 * inside the sandbox no file of this package is visible. The protocol is described in ../interpreter.ts.
 *
 * Cells run in the namespace of a fresh `__main__` module, IPython-style: the last expression statement is evaluated
 * and displayed (unless it ends with `;`), top-level `await` works, `display(obj)` is a builtin, matplotlib figures
 * are captured as PNG on `plt.show()` and at the end of the cell. User output goes to the real stdout/stderr (fd 1
 * and 2, so subprocesses are captured too); fd 0 is /dev/null for the user, the protocol reads a private copy.
 */
export const PYTHON_DRIVER = String.raw`
import ast, base64, builtins, importlib.machinery, io, json, linecache, os, pprint, queue, signal, sys, threading, traceback, types

NONCE = sys.argv[1]
sys.argv = ['']
os.environ.setdefault('HOME', '/tmp')
for _stream in (sys.stdout, sys.stderr):
    _stream.reconfigure(encoding='utf-8', errors='backslashreplace')

_protocol_in = os.dup(0)
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)
os.close(_devnull)

_MIME = {'text': 'text/plain', 'html': 'text/html', 'markdown': 'text/markdown', 'latex': 'text/latex',
         'svg': 'image/svg+xml', 'png': 'image/png', 'jpeg': 'image/jpeg', 'json': 'application/json',
         'javascript': 'application/javascript'}
_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE: the cell has a top-level await
_lock = threading.Lock()
_requests = queue.SimpleQueue()
_running = None  # id of the cell in progress: only then does SIGINT raise KeyboardInterrupt
_results = []  # rich results of the cell in progress
_loop = None  # event loop for cells with top-level await, created on first use
_main = types.ModuleType('__main__')
sys.modules['__main__'] = _main


def _write(fd, text):
    data = text.encode('utf-8')
    while data:
        data = data[os.write(fd, data):]


def _send(message):
    sys.__stdout__.flush()
    sys.__stderr__.flush()
    _write(1, NONCE + json.dumps(message, default=str) + '\n')
    _write(2, NONCE + str(message['id']) + '\n')


def _read_requests():
    with open(_protocol_in, 'rb') as stream:
        for line in stream:
            message = json.loads(line)
            if message['type'] == 'interrupt':
                with _lock:
                    if _running == message['id']:
                        os.kill(os.getpid(), signal.SIGINT)
            else:
                _requests.put(message)
    _requests.put(None)


def _on_sigint(signum, frame):
    if _running is not None:
        raise KeyboardInterrupt


def _finish_cell():
    global _running
    try:
        with _lock:
            _running = None
    except KeyboardInterrupt:  # sent just before the cell ended; there is only one per cell
        _running = None


def _repr(obj, name, **kwargs):
    try:
        method = getattr(obj, name, None)
        data = method(**kwargs) if callable(method) else None
    except Exception:
        return None
    return data[0] if isinstance(data, tuple) else data


def _json_safe(value):
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError, RecursionError):
        return False


def _figure_bundle(figure):
    pyplot = sys.modules.get('matplotlib.pyplot')
    bundle = {'text': repr(figure)}
    if figure.axes:
        buffer = io.BytesIO()
        figure.savefig(buffer, format='png', bbox_inches='tight')
        bundle['png'] = base64.b64encode(buffer.getvalue()).decode('ascii')
    if pyplot is not None:
        pyplot.close(figure)
    return bundle


def _bundle(obj):
    figure = sys.modules.get('matplotlib.figure')
    if figure is not None and isinstance(obj, figure.Figure):
        return _figure_bundle(obj)
    bundle = {}
    if not isinstance(obj, type):
        mimebundle = _repr(obj, '_repr_mimebundle_', include=None, exclude=None)
        if isinstance(mimebundle, dict):
            bundle = {key: mimebundle[mime] for key, mime in _MIME.items() if mime in mimebundle}
        for key in _MIME:
            if key != 'text' and key not in bundle:
                data = _repr(obj, '_repr_' + key + '_')
                if data is not None:
                    bundle[key] = data
    bundle.setdefault('text', pprint.pformat(obj, sort_dicts=False))
    for key in ('png', 'jpeg'):
        if isinstance(bundle.get(key), bytes):
            bundle[key] = base64.b64encode(bundle[key]).decode('ascii')
    if 'json' not in bundle and isinstance(obj, (dict, list)):
        bundle['json'] = obj
    if 'json' in bundle and not _json_safe(bundle['json']):
        del bundle['json']
    return bundle


def display(*objs):
    for obj in objs:
        _results.append(_bundle(obj))


def _show_figures(*args, **kwargs):
    pyplot = sys.modules.get('matplotlib.pyplot')
    if pyplot is not None:
        for number in pyplot.get_fignums():
            _results.append(_figure_bundle(pyplot.figure(number)))


class _PatchOnImport:
    """Replaces matplotlib.pyplot.show as soon as pyplot is imported, without importing it ahead of time."""

    def find_spec(self, name, path=None, target=None):
        if name != 'matplotlib.pyplot':
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            exec_module = spec.loader.exec_module

            def exec_and_patch(module):
                exec_module(module)
                module.show = _show_figures

            spec.loader.exec_module = exec_and_patch
        return spec


def _evaluate(tree, filename, mode):
    global _loop
    code = compile(tree, filename, mode, flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    value = eval(code, _main.__dict__)
    if code.co_flags & _CO_COROUTINE:
        if _loop is None:
            import asyncio
            _loop = asyncio.new_event_loop()
            asyncio.set_event_loop(_loop)
        value = _loop.run_until_complete(value)
    return value


def _silenced(code, node):
    line = code.splitlines()[node.end_lineno - 1].encode('utf-8')
    return line[node.end_col_offset:].decode('utf-8', 'replace').lstrip().startswith(';')


def _execute(code, filename):
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    tree = ast.parse(code, filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    _evaluate(ast.Module(tree.body, []), filename, 'exec')
    if last is not None:
        value = _evaluate(ast.Expression(last.value), filename, 'eval')
        if value is not None and not _silenced(code, last):
            _results.append(_bundle(value))


def _error(exc, filename):
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    line = exc.lineno if isinstance(exc, SyntaxError) and exc.filename == filename else None
    frame = tb
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == filename:
            line = frame.tb_lineno
        frame = frame.tb_next
    report = traceback.TracebackException(type(exc), exc, tb)
    if report.stack and report.stack[-1].name == _on_sigint.__name__:
        report.stack.pop()  # the driver's frame that raised KeyboardInterrupt
    lines = ''.join(report.format()).splitlines()
    error = {'name': type(exc).__name__, 'message': str(exc), 'traceback': lines}
    if line is not None:
        error['lineNumber'] = line
    return error


def _run(message, reply):
    global _running
    filename = '<cell-' + str(message['id']) + '>'
    saved = {key: os.environ.get(key) for key in message['env']}
    os.environ.update(message['env'])
    _results.clear()
    _running = message['id']
    try:
        try:
            _execute(message['code'], filename)
        finally:
            _show_figures()
    except BaseException as exc:
        reply['error'] = _error(exc, filename)
    finally:
        _finish_cell()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    reply['results'] = list(_results)


def _serve():
    builtins.display = display
    sys.meta_path.insert(0, _PatchOnImport())
    signal.signal(signal.SIGINT, _on_sigint)
    threading.Thread(target=_read_requests, daemon=True).start()
    _send({'id': 0, 'ready': True})
    while True:
        message = _requests.get()
        if message is None:
            return
        reply = {'id': message['id'], 'results': []}
        try:
            _run(message, reply)
        except KeyboardInterrupt:  # landed while the cell's error was being recorded
            reply['error'] = {'name': 'KeyboardInterrupt', 'message': '', 'traceback': []}
        _send(reply)


_serve()
`
