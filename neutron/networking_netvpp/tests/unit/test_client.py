import http.server
import json
import os
import shutil
import tempfile
import threading
import unittest

from networking_netvpp import client as nclient


class Handler(http.server.BaseHTTPRequestHandler):
    routes = {}

    def _serve(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.seen.append((self.command, self.path, body))
        self.server.headers.append(self.headers)
        status, reply = self.server.routes(self.command, self.path, body)
        data = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = _serve
    do_POST = _serve

    def log_message(self, *args):
        pass


def serve(routes):
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    srv.routes = routes
    srv.seen = []
    srv.headers = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, 'http://127.0.0.1:%d' % srv.server_address[1]


class ClientTest(unittest.TestCase):

    def test_follower_instance_redirects_journal_writes_to_the_leader(self):
        leader, leader_url = serve(
            lambda m, p, b: (200, {'done': [r['id'] for r in b['rows']]}))
        follower, follower_url = serve(
            lambda m, p, b: (503, {'error': 'not the leader',
                                   'leader': leader_url}))
        self.addCleanup(leader.shutdown)
        self.addCleanup(follower.shutdown)
        c = nclient.ControllerClient(follower_url + ',' + leader_url, 5)
        with self.assertRaises(nclient.ControllerError) as e:
            c.post_journal([{'id': 1}])
        self.assertEqual(e.exception.status, 503)
        self.assertEqual(c.post_journal([{'id': 1}]), ([1], [], False))
        self.assertEqual(len(leader.seen), 1)

    def test_a_leader_url_that_is_not_configured_is_not_followed(self):
        rogue, rogue_url = serve(lambda m, p, b: (200, {'done': [1]}))
        follower, follower_url = serve(
            lambda m, p, b: (503, {'error': 'not the leader',
                                   'leader': rogue_url}))
        self.addCleanup(rogue.shutdown)
        self.addCleanup(follower.shutdown)
        c = nclient.ControllerClient(follower_url, 5)
        for _ in range(3):
            with self.assertRaises(nclient.ControllerError):
                c.post_journal([{'id': 1}])
        self.assertEqual(rogue.seen, [])
        self.assertEqual(len(follower.seen), 3)

    def test_the_token_from_its_file_goes_with_every_request(self):
        srv, url = serve(lambda m, p, b: (200, {'done': []}))
        self.addCleanup(srv.shutdown)
        d = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, d)
        path = os.path.join(d, 'token')
        with open(path, 'w') as f:
            f.write('# the driver token\nfirst-token-0123456789\n')
        c = nclient.ControllerClient(url, 5, token_file=path)
        c.post_journal([])
        self.assertEqual(srv.headers[-1].get('Authorization'),
                         'Bearer first-token-0123456789')
        with open(path, 'w') as f:  # rotated: used without a restart
            f.write('second-token-0123456789-longer\n')
        c.health()
        self.assertEqual(srv.headers[-1].get('Authorization'),
                         'Bearer second-token-0123456789-longer')
        with open(path, 'w') as f:
            f.write('')
        self.assertRaises(ValueError, nclient.ControllerClient, url, 5,
                          token_file=path)

    def test_unreachable_controller_moves_on_to_the_next_url(self):
        live, live_url = serve(lambda m, p, b: (200, {'done': []}))
        self.addCleanup(live.shutdown)
        c = nclient.ControllerClient('http://127.0.0.1:1,' + live_url, 5)
        with self.assertRaises(nclient.ControllerError):
            c.health()
        self.assertEqual(c.base_url, live_url)

    def test_unknown_host_is_none_and_errors_carry_the_message(self):
        srv, url = serve(lambda m, p, b: (
            (404, {'error': 'no live agent'}) if p.startswith('/v1/hosts/')
            else (500, {'error': 'boom'})))
        self.addCleanup(srv.shutdown)
        c = nclient.ControllerClient(url, 5)
        self.assertIsNone(c.get_host('compute 9'))
        self.assertEqual(srv.seen[0][1], '/v1/hosts/compute%209')
        with self.assertRaisesRegex(nclient.ControllerError, 'HTTP 500: boom'):
            c.post_journal([])

    def test_sync_token_then_sync_body_as_given(self):
        def routes(m, p, b):
            if (m, p) == ('GET', '/v1/sync'):
                return 200, {'sync_needed': True, 'token': '17'}
            if (m, p) == ('POST', '/v1/sync'):
                return 200, {'rejected': [], 'written': 2, 'deleted': 0,
                             'kept': 0}
            if (m, p) == ('POST', '/v1/journal'):
                return 200, {'done': [1], 'sync_needed': True}
            return 404, {'error': 'no'}
        srv, url = serve(routes)
        self.addCleanup(srv.shutdown)
        c = nclient.ControllerClient(url, 5)
        self.assertEqual(c.sync_status()['token'], '17')
        body = {'networks': [], 'ports': [], 'security_groups': [],
                'token': '17'}
        self.assertEqual(c.post_sync(nclient.encode(body), 30)['written'], 2)
        self.assertEqual(srv.seen[1], ('POST', '/v1/sync', body))
        self.assertEqual(c.post_journal([{'id': 1}]), ([1], [], True))

    def test_a_paged_sync_begins_sends_pages_and_commits(self):
        def routes(method, path, body):
            if path == '/v1/sync/session':
                return 201, {'session': 'abc'}
            if path.endswith('/page'):
                return 200, {'session': 'abc', 'pages': body['seq'] + 1}
            return 200, {'rejected': [], 'written': 5, 'deleted': 0,
                         'kept': 0}
        srv, url = serve(routes)
        self.addCleanup(srv.shutdown)
        c = nclient.ControllerClient(url, 5)
        s = c.sync_begin('17', ['networks', 'ports', 'security_groups'])
        self.assertEqual(s, 'abc')
        self.assertGreater(c.sync_page(s, 0, {'ports': [{'id': 'p'}]}, 30),
                           0)
        self.assertEqual(c.sync_commit(s, 1, 30)['written'], 5)
        self.assertEqual(srv.seen, [
            ('POST', '/v1/sync/session',
             {'token': '17', 'lists': ['networks', 'ports',
                                       'security_groups']}),
            ('POST', '/v1/sync/session/abc/page',
             {'ports': [{'id': 'p'}], 'seq': 0}),
            ('POST', '/v1/sync/session/abc/commit', {'pages': 1}),
        ])

    def test_a_reply_without_done_is_an_error_not_an_empty_ack(self):
        srv, url = serve(lambda m, p, b: (200, {'ok': True}))
        self.addCleanup(srv.shutdown)
        with self.assertRaisesRegex(nclient.ControllerError, 'no "done"'):
            nclient.ControllerClient(url, 5).post_journal([{'id': 3}])


if __name__ == '__main__':
    unittest.main()
