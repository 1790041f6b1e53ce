"""The in-test AMI server speaks Asterisk 22's wire format, seen through a bare asyncio streams client."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.support.ami_server import (
    BANNER,
    REASON_BUSY,
    REASON_CONGESTION,
    REASON_FAILED,
    REASON_RING_TIMEOUT,
    AmiServer,
)

Message = dict[str, str]
READ_TIMEOUT = 2.0
CHANNEL_ID = "1795341160.42"


class Client:
    """A bare AMI client: whole blocks in, whole blocks out, nothing interpreted."""

    opened: list[Client] = []  # closed by run() even when a test fails half-way

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, banner: bytes) -> None:
        self.reader, self.writer, self.banner = reader, writer, banner

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        banner = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
        client = cls(reader, writer, banner)
        cls.opened.append(client)
        return client

    async def send(self, **fields: str) -> None:
        self.writer.write("".join(f"{key}: {value}\r\n" for key, value in fields.items()).encode() + b"\r\n")
        await self.writer.drain()

    async def read_raw(self) -> bytes:
        return await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)

    async def read(self) -> Message:
        block = await self.read_raw()
        message: Message = {}
        for line in block[:-4].decode().split("\r\n"):
            key, _, value = line.partition(": ")
            assert key not in message, f"repeated {key} in {block!r}"
            message[key] = value
        return message

    async def read_until(self, event: str) -> list[Message]:
        """Every block up to and including the first `event` event."""
        blocks = [await self.read()]
        while blocks[-1].get("Event") != event:
            blocks.append(await self.read())
        return blocks

    async def request(self, **fields: str) -> Message:
        await self.send(**fields)
        return await self.read()

    async def login(self, secret: str = "s3cr3t", events: str = "on") -> Message:  # noqa: S107
        reply = await self.request(
            Action="Login", ActionID="login-1", Username="switchboard", Secret=secret, Events=events
        )
        if reply.get("Response") == "Success" and events == "on":
            assert (await self.read())["Event"] == "FullyBooted"
        return reply

    async def at_eof(self) -> bool:
        """Whether the server has closed the connection (nothing more comes)."""
        rest = await asyncio.wait_for(self.reader.read(), READ_TIMEOUT)
        return rest == b""

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def run(scenario: Callable[[AmiServer], Awaitable[None]]) -> None:
    """Run `scenario` against a started server; stop it after; the server's handlers raised nothing."""

    async def main() -> None:
        server = AmiServer()
        await server.start()
        try:
            await scenario(server)
        finally:
            for client in Client.opened:
                await client.close()
            Client.opened.clear()
            await server.stop()
        assert server.errors == []

    asyncio.run(main())


async def logged_in_client(server: AmiServer) -> Client:
    client = await Client.connect(server.port)
    assert (await client.login())["Response"] == "Success"
    return client


async def _dial_out(client: Client, action_id: str, endpoint: str, **extra: str) -> None:
    """An async Originate ringing PJSIP/<endpoint>, then dialling 0412345678 from it."""
    await client.send(
        Action="Originate",
        ActionID=action_id,
        Channel=f"PJSIP/{endpoint}",
        Exten="0412345678",
        Context="from-internal",
        Priority="1",
        Async="true",
        **extra,
    )


def events(blocks: list[Message]) -> list[str]:
    return [block["Event"] for block in blocks if "Event" in block]


# -- session --------------------------------------------------------------------------------------


def test_banner_login_and_ping() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await Client.connect(server.port)
        assert client.banner == BANNER == b"Asterisk Call Manager/11.0.0\r\n"
        await client.send(Action="Login", ActionID="login-1", Username="switchboard", Secret="s3cr3t")
        assert await client.read_raw() == (
            b"Response: Success\r\nActionID: login-1\r\nMessage: Authentication accepted\r\n\r\n"
        )
        booted = await client.read()
        assert list(booted) == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
        assert booted["Privilege"] == "system,all"
        assert booted["Status"] == "Fully Booted"
        assert server.logged_in == 1
        pong = await client.request(Action="Ping", ActionID="ping-2")
        assert list(pong) == ["Response", "ActionID", "Ping", "Timestamp"]
        assert pong["Ping"] == "Pong"
        assert re.fullmatch(r"\d+\.\d{6}", pong["Timestamp"])
        again = await client.request(Action="login", ActionID="3", Username="switchboard", Secret="s3cr3t")
        assert again == {"Response": "Success", "ActionID": "3", "Message": "Already authenticated"}
        assert await client.request(Action="Logoff", ActionID="logoff-4") == {
            "Response": "Goodbye",
            "ActionID": "logoff-4",
            "Message": "Thanks for all the fish.",
        }
        assert await client.at_eof()
        await client.close()
        await asyncio.sleep(0.01)
        assert server.logged_in == 0
        assert [action["Action"] for action in server.actions] == ["Login", "Ping", "login", "Logoff"]
        assert server.actions[0] == {
            "Action": "Login",
            "ActionID": "login-1",
            "Username": "switchboard",
            "Secret": "s3cr3t",
        }

    run(scenario)


def test_wrong_secret_is_refused_and_the_connection_closed() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await Client.connect(server.port)
        assert await client.login(secret="guess") == {
            "Response": "Error",
            "ActionID": "login-1",
            "Message": "Authentication failed",
        }
        assert await client.at_eof()
        await client.close()
        assert server.logged_in == 0

    run(scenario)


def test_actions_before_login_are_denied_but_logoff_is_allowed() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await Client.connect(server.port)
        for action in ("Ping", "Originate", "CoreShowChannels", "NoSuchThing"):
            reply = await client.request(Action=action, ActionID=f"early-{action}")
            assert reply == {
                "Response": "Error",
                "ActionID": f"early-{action}",
                "Message": "Permission denied",
            }
        assert await client.request(ActionID="no-action") == {
            "Response": "Error",
            "ActionID": "no-action",
            "Message": "Missing action in request",
        }
        assert (await client.request(Action="Logoff"))["Response"] == "Goodbye"  # no ActionID: none echoed
        assert await client.at_eof()
        await client.close()

    run(scenario)


def test_unknown_action_and_events_off() -> None:
    async def scenario(server: AmiServer) -> None:
        quiet = await Client.connect(server.port)
        assert (await quiet.login(events="off"))["Response"] == "Success"
        assert await quiet.request(Action="Frobnicate", ActionID="x-1") == {
            "Response": "Error",
            "ActionID": "x-1",
            "Message": (
                "Invalid/unknown command: Frobnicate. Use Action: ListCommands to show available commands."
            ),
        }
        listening = await logged_in_client(server)
        stranger = await Client.connect(server.port)  # connected, never logged in
        await server.inject_inbound("410", "0298765432")
        assert (await listening.read())["Event"] == "Newchannel"
        # The quiet client gets no events: its next block is the reply to its next action.
        assert (await quiet.request(Action="Ping", ActionID="p"))["Ping"] == "Pong"
        assert (await stranger.request(Action="Ping", ActionID="p"))["Message"] == "Permission denied"
        # Events can be turned on later, as Asterisk's Events action does.
        reply = await quiet.request(Action="Events", ActionID="e", EventMask="on")
        assert reply == {"Response": "Success", "ActionID": "e", "Events": "On"}
        await server.inject_inbound("411", "0298765433")
        assert (await quiet.read())["Channel"].startswith("PJSIP/411-")
        for client in (quiet, listening, stranger):
            await client.close()

    run(scenario)


# -- Originate ------------------------------------------------------------------------------------


def test_originate_with_channel_id() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        other = await logged_in_client(server)
        await client.send(
            Action="Originate",
            ActionID="originate-2",
            Channel="PJSIP/410",
            Exten="0412345678",
            Context="from-internal",
            Priority="1",
            CallerID='"Sales" <0299990000>',
            Timeout="30000",
            Async="true",
            ChannelId=CHANNEL_ID,
            Variable="PJSIP_HEADER(add,Call-Info)=answer-after=0",
        )
        assert await client.read() == {
            "Response": "Success",
            "ActionID": "originate-2",
            "Message": "Originate successfully queued",
        }
        blocks = await client.read_until("BridgeEnter")
        assert events(blocks) == [
            "Newchannel",
            "NewCallerid",
            "NewConnectedLine",
            "DialBegin",
            "Newstate",
            "Newstate",
            "DialEnd",
            "OriginateResponse",
            "BridgeEnter",
        ]
        new = blocks[0]
        assert list(new) == [
            "Event",
            "Privilege",
            "Channel",
            "ChannelState",
            "ChannelStateDesc",
            "CallerIDNum",
            "CallerIDName",
            "ConnectedLineNum",
            "ConnectedLineName",
            "Language",
            "AccountCode",
            "Context",
            "Exten",
            "Priority",
            "Uniqueid",
            "Linkedid",
        ]
        assert re.fullmatch(r"PJSIP/410-[0-9a-f]{8}", new["Channel"])
        assert (new["Uniqueid"], new["Linkedid"], new["ChannelStateDesc"]) == (CHANNEL_ID, CHANNEL_ID, "Down")
        name = new["Channel"]
        assert all(block.get("Uniqueid", block.get("DestUniqueid")) == CHANNEL_ID for block in blocks)
        dial_begin, ringing, up, dial_end, response, bridge = blocks[3:]
        assert dial_begin["DestChannel"] == name
        assert dial_begin["DialString"] == "410"
        assert (ringing["ChannelState"], ringing["ChannelStateDesc"]) == ("5", "Ringing")
        assert (up["ChannelState"], up["ChannelStateDesc"]) == ("6", "Up")
        assert dial_end["DialStatus"] == "ANSWER"
        assert response == {
            "Event": "OriginateResponse",
            "Privilege": "call,all",
            "ActionID": "originate-2",
            "Response": "Success",
            "Channel": name,
            "Context": "from-internal",
            "Exten": "0412345678",
            "Reason": "4",
            "Uniqueid": CHANNEL_ID,
            "CallerIDNum": "0299990000",
            "CallerIDName": "Sales",
        }
        assert bridge["BridgeType"] == "basic"
        assert bridge["CallerIDNum"] == "0299990000"
        assert bridge["ConnectedLineNum"] == "0412345678"  # the phone now shows the number dialled
        # Every logged-in client with events on sees them, not only the one that originated.
        assert events(await other.read_until("BridgeEnter")) == events(blocks)
        channel = server.channels[CHANNEL_ID]
        assert (channel.name, channel.state, channel.direction) == (name, 6, "outbound")
        assert server.actions[-1]["ChannelId"] == CHANNEL_ID
        assert server.actions[-1]["Variable"] == "PJSIP_HEADER(add,Call-Info)=answer-after=0"
        await client.close()
        await other.close()

    run(scenario)


def test_originate_names_and_generated_uniqueids() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        names = []
        for n, dial in enumerate(("SIP/411", "Local/412@from-internal", "PJSIP/413")):
            await client.send(
                Action="Originate", ActionID=f"o-{n}", Channel=dial, Application="Milliwatt", Async="yes"
            )
            assert (await client.read())["Message"] == "Originate successfully queued"
            blocks = await client.read_until("OriginateResponse")
            new, response = blocks[0], blocks[-1]
            assert re.fullmatch(r"\d+\.\d+", new["Uniqueid"])
            assert new["Linkedid"] == new["Uniqueid"] == response["Uniqueid"]
            assert new["CallerIDNum"] == "<unknown>"  # no CallerID: no NewCallerid either
            assert "NewCallerid" not in events(blocks)
            assert response["Application"] == "Milliwatt"
            assert response["ActionID"] == f"o-{n}"
            names.append(new["Channel"])
        assert re.fullmatch(r"SIP/411-[0-9a-f]{8}", names[0])
        assert re.fullmatch(r"Local/412@from-internal-[0-9a-f]{8};1", names[1])
        assert re.fullmatch(r"PJSIP/413-[0-9a-f]{8}", names[2])
        # The Local channel comes in two halves: ;2 runs the dialplan, linked to ;1 (the transcript's).
        assert len({channel.uniqueid for channel in server.channels.values()}) == 4
        near, far = sorted(
            (c for c in server.channels.values() if c.name.startswith("Local/")), key=lambda c: c.name
        )
        assert (far.name, far.linkedid) == (near.name[:-1] + "2", near.uniqueid)
        # An application call is not bridged (the transcript's Milliwatt call had no BridgeEnter).
        assert all(channel.bridge_id == "" for channel in server.channels.values())
        await client.close()

    run(scenario)


def test_originate_to_404_fails() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        await _dial_out(client, "o-404", "404", ChannelId=CHANNEL_ID)
        assert (await client.read())["Response"] == "Success"
        blocks = await client.read_until("OriginateResponse")
        assert events(blocks) == [
            "Newchannel",
            "DialBegin",
            "Newstate",
            "DialEnd",
            "Hangup",
            "OriginateResponse",
        ]
        name = blocks[0]["Channel"]
        assert blocks[3]["DialStatus"] == "NOANSWER"
        assert (blocks[4]["Cause"], blocks[4]["Cause-txt"]) == ("19", "User alerting, no answer")
        assert blocks[5] == {
            "Event": "OriginateResponse",
            "Privilege": "call,all",
            "ActionID": "o-404",
            "Response": "Failure",
            "Channel": "PJSIP/404",  # the channel is gone: Asterisk names the one requested
            "Context": "from-internal",
            "Exten": "0412345678",
            "Reason": "3",
            "Uniqueid": CHANNEL_ID,
            "CallerIDNum": "<unknown>",
            "CallerIDName": "<unknown>",
        }
        assert name.startswith("PJSIP/404-")
        assert server.channels == {}
        await client.close()

    run(scenario)


def test_originate_with_a_channel_id_in_use_fails() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        inbound = await server.inject_inbound("410", "0298765432")
        await client.read()
        await client.send(
            Action="Originate",
            ActionID="dup",
            Channel="PJSIP/411",
            Application="Wait",
            Async="1",
            ChannelId=inbound,
        )
        assert (await client.read())["Response"] == "Success"  # queued; the channel cannot be made
        response = await client.read()
        assert response["Event"] == "OriginateResponse"
        assert (response["Response"], response["Reason"]) == ("Failure", "0")
        assert (response["Channel"], response["Uniqueid"]) == ("PJSIP/411", inbound)
        assert list(server.channels) == [inbound]
        holder = server.channels[inbound].name
        assert server.log == [
            f"ERROR[channel.c] Channel Unique ID '{inbound}' already in use by channel {holder}"
        ]
        await client.close()

    run(scenario)


@pytest.mark.parametrize(
    ("reason", "dial_status", "cause"),
    [
        (REASON_RING_TIMEOUT, "NOANSWER", ("19", "User alerting, no answer")),
        (REASON_BUSY, "BUSY", ("17", "User busy")),
        (REASON_CONGESTION, "CONGESTION", ("34", "Circuit/channel congestion")),
    ],
)
def test_originate_fails_with_each_reason_after_ringing(
    reason: int, dial_status: str, cause: tuple[str, str]
) -> None:
    async def scenario(server: AmiServer) -> None:
        server.failures["412"] = reason
        client = await logged_in_client(server)
        await _dial_out(client, "o-412", "412", ChannelId=CHANNEL_ID)
        assert (await client.read())["Response"] == "Success"
        blocks = await client.read_until("OriginateResponse")
        assert events(blocks) == [
            "Newchannel",
            "DialBegin",
            "Newstate",
            "DialEnd",
            "Hangup",
            "OriginateResponse",
        ]
        dial_end = blocks[3]
        # An Originate's DialEnd names the dialled channel only: DestUniqueid, no Uniqueid.
        assert (dial_end["DestUniqueid"], dial_end["DialStatus"]) == (CHANNEL_ID, dial_status)
        assert "Uniqueid" not in dial_end
        assert "Channel" not in dial_end
        assert (blocks[4]["Cause"], blocks[4]["Cause-txt"]) == cause
        assert (blocks[5]["Response"], blocks[5]["Reason"], blocks[5]["Uniqueid"]) == (
            "Failure",
            str(reason),
            CHANNEL_ID,
        )
        assert server.channels == {}
        await client.close()

    run(scenario)


def test_originate_to_a_phone_without_contact_fails_before_any_channel() -> None:
    async def scenario(server: AmiServer) -> None:
        server.failures["413"] = REASON_FAILED
        client = await logged_in_client(server)
        await _dial_out(client, "o-413", "413")
        assert (await client.read())["Response"] == "Success"  # queued: the failure comes after
        response = await client.read()
        assert (response["Event"], response["ActionID"], response["Response"]) == (
            "OriginateResponse",
            "o-413",
            "Failure",
        )
        assert (response["Reason"], response["Channel"], response["Uniqueid"]) == (
            "0",
            "PJSIP/413",
            "<unknown>",
        )
        assert server.channels == {}
        await client.close()

    run(scenario)


def test_a_call_up_before_login_is_listed_but_never_announced() -> None:
    async def scenario(server: AmiServer) -> None:
        uniqueid = server.existing_call("414", "0298765432")
        client = await logged_in_client(server)
        await client.send(Action="CoreShowChannels", ActionID="list")
        assert (await client.read())["EventList"] == "start"
        listed = await client.read()
        assert (listed["Event"], listed["Uniqueid"], listed["ChannelStateDesc"]) == (
            "CoreShowChannel",
            uniqueid,
            "Up",
        )
        assert listed["Channel"].startswith("PJSIP/414-")
        assert listed["BridgeId"]
        assert (await client.read())["Event"] == "CoreShowChannelsComplete"
        await server.remote_hangup(uniqueid)  # its end is announced like any other
        assert [block["Event"] for block in await client.read_until("Hangup")] == [
            "HangupRequest",
            "BridgeLeave",
            "Hangup",
        ]
        await client.close()

    run(scenario)


def test_a_frozen_pbx_keeps_the_connection_and_answers_late() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        server.freeze()
        await client.send(Action="Ping", ActionID="p-1")
        await client.send(Action="Ping", ActionID="p-2")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(client.reader.readuntil(b"\r\n\r\n"), 0.3)
        assert [a["ActionID"] for a in server.actions if a.get("Action") == "Ping"] == []  # unread
        server.resume()
        assert [(await client.read())["ActionID"], (await client.read())["ActionID"]] == ["p-1", "p-2"]
        await client.close()

    run(scenario)


def test_originate_waits_for_answer_when_told_to() -> None:
    async def scenario(server: AmiServer) -> None:
        server.answer_originate = False
        client = await logged_in_client(server)
        await client.send(
            Action="Originate",
            ActionID="o-1",
            Channel="PJSIP/410",
            Exten="100",
            Context="from-internal",
            Priority="1",
            Async="true",
            ChannelId=CHANNEL_ID,
        )
        assert (await client.read())["Response"] == "Success"
        assert events(await client.read_until("Newstate")) == ["Newchannel", "DialBegin", "Newstate"]
        assert server.channels[CHANNEL_ID].state_desc == "Ringing"
        # Still ringing: the next block is the Ping's reply, not an OriginateResponse.
        assert (await client.request(Action="Ping", ActionID="p"))["Ping"] == "Pong"
        await server.answer(CHANNEL_ID)
        blocks = await client.read_until("BridgeEnter")
        assert events(blocks) == ["Newstate", "DialEnd", "OriginateResponse", "BridgeEnter"]
        assert blocks[2]["Response"] == "Success"
        # A second call that the caller gives up on: hung up while ringing, the Originate fails.
        await client.send(
            Action="Originate", ActionID="o-2", Channel="PJSIP/411", Application="Wait", Async="true"
        )
        assert (await client.read())["Response"] == "Success"
        name = (await client.read_until("Newstate"))[0]["Channel"]
        assert await client.request(Action="Hangup", ActionID="h", Channel=name) == {
            "Response": "Success",
            "ActionID": "h",
            "Message": "Channel Hungup",
        }
        blocks = await client.read_until("OriginateResponse")
        assert events(blocks) == ["SoftHangupRequest", "Hangup", "OriginateResponse"]
        assert (blocks[-1]["Response"], blocks[-1]["Reason"], blocks[-1]["Uniqueid"]) == (
            "Failure",
            "1",
            "<unknown>",
        )
        await client.close()

    run(scenario)


def test_synchronous_originate_replies_when_answered() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        await client.send(
            Action="Originate", ActionID="sync", Channel="PJSIP/410", Exten="100", Context="c", Priority="1"
        )
        blocks = [await client.read()]
        while "Response" not in blocks[-1] or "Event" in blocks[-1]:
            blocks.append(await client.read())
        assert blocks[-1] == {
            "Response": "Success",
            "ActionID": "sync",
            "Message": "Originate successfully queued",
        }
        assert "OriginateResponse" not in events(blocks)
        await client.send(Action="Originate", ActionID="sync-404", Channel="PJSIP/404", Application="Wait")
        blocks = [await client.read()]
        while "Response" not in blocks[-1] or "Event" in blocks[-1]:
            blocks.append(await client.read())
        assert blocks[-1] == {"Response": "Error", "ActionID": "sync-404", "Message": "Originate failed"}
        await client.close()

    run(scenario)


def test_originate_errors() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        cases = [
            ({}, "Channel not specified"),
            ({"Channel": "PJSIP"}, "Invalid channel"),
            ({"Channel": "PJSIP/410", "Timeout": "soon"}, "Invalid timeout"),
            (
                {"Channel": "PJSIP/410", "Exten": "100"},
                "Originate with 'Exten' requires 'Context' and 'Priority'",
            ),
        ]
        for fields, message in cases:
            reply = await client.request(Action="Originate", ActionID="o", **fields)
            assert reply == {"Response": "Error", "ActionID": "o", "Message": message}
        assert server.channels == {}
        await client.close()

    run(scenario)


# -- Hangup, recording, listing -------------------------------------------------------------------


async def _connected_call(server: AmiServer, client: Client) -> str:
    """An answered outbound call on PJSIP/410 with Uniqueid CHANNEL_ID; its channel name."""
    await _dial_out(client, "o", "410", ChannelId=CHANNEL_ID)
    await client.read()
    await client.read_until("BridgeEnter")
    return server.channels[CHANNEL_ID].name


def test_hangup() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        name = await _connected_call(server, client)
        assert await client.request(Action="Hangup", ActionID="h-1", Channel="PJSIP/999-00000000") == {
            "Response": "Error",
            "ActionID": "h-1",
            "Message": "No such channel",
        }
        assert await client.request(Action="Hangup", ActionID="h-2") == {
            "Response": "Error",
            "ActionID": "h-2",
            "Message": "No channel specified",
        }
        assert await client.request(Action="Hangup", ActionID="h-3", Channel=name, Cause="16") == {
            "Response": "Success",
            "ActionID": "h-3",
            "Message": "Channel Hungup",
        }
        blocks = await client.read_until("Hangup")
        assert events(blocks) == ["SoftHangupRequest", "BridgeLeave", "Hangup"]
        hangup = blocks[-1]
        assert list(hangup)[-2:] == ["Cause", "Cause-txt"]
        assert (hangup["Channel"], hangup["Uniqueid"]) == (name, CHANNEL_ID)
        assert (hangup["Cause"], hangup["Cause-txt"]) == ("16", "Normal Clearing")
        assert server.channels == {}
        reply = await client.request(Action="Hangup", ActionID="h-4", Channel=name)
        assert reply["Message"] == "No such channel"
        await client.close()

    run(scenario)


def test_mixmonitor_mute_and_stop(tmp_path: Path) -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        name = await _connected_call(server, client)
        path = str(tmp_path / "monitor" / "call.wav")  # the directory made as Asterisk makes it

        def error(action_id: str, message: str) -> Message:
            return {"Response": "Error", "ActionID": action_id, "Message": message}

        assert await client.request(
            Action="MixMonitor", ActionID="m-0", Channel="PJSIP/9-1", File=path
        ) == error("m-0", "No such channel")
        assert await client.request(
            Action="MixMonitorMute", ActionID="u-0", Channel=name, Direction="both", State="1"
        ) == error("u-0", "Cannot set mute flag")
        assert await client.request(Action="StopMixMonitor", ActionID="s-0", Channel=name) == error(
            "s-0", "Could not stop monitoring channel"
        )
        # 22.x replies with just Response and ActionID: no Message, no MixMonitorID.
        assert await client.request(Action="MixMonitor", ActionID="m-1", Channel=name, File=path) == {
            "Response": "Success",
            "ActionID": "m-1",
        }
        var_set, start = await client.read(), await client.read()
        assert (var_set["Event"], var_set["Variable"], var_set["Value"]) == (
            "VarSet",
            "MIXMONITOR_FILENAME",
            path,
        )
        assert (start["Event"], start["Channel"], start["Uniqueid"]) == ("MixMonitorStart", name, CHANNEL_ID)
        assert server.channels[CHANNEL_ID].recording == path

        for state, muted in (("1", {"read", "write"}), ("0", set())):
            reply = await client.request(
                Action="MixMonitorMute", ActionID=f"u-{state}", Channel=name, Direction="both", State=state
            )
            assert reply == {"Response": "Success", "ActionID": f"u-{state}"}
            event = await client.read()
            assert event["Event"] == "MixMonitorMute"
            assert (event["Direction"], event["State"]) == ("both", state)
            assert server.channels[CHANNEL_ID].muted == muted
        assert await client.request(
            Action="MixMonitorMute", ActionID="u-x", Channel=name, Direction="sideways", State="1"
        ) == error("u-x", "Invalid direction specified. Must be read, write or both")
        assert await client.request(
            Action="MixMonitorMute", ActionID="u-y", Channel=name, Direction="read"
        ) == error("u-y", "No state specified")
        assert await client.request(
            Action="MixMonitorMute", ActionID="u-z", Channel="PJSIP/9-1", Direction="read", State="1"
        ) == error("u-z", "No such channel")

        assert await client.request(Action="StopMixMonitor", ActionID="s-1", Channel=name) == {
            "Response": "Success",
            "ActionID": "s-1",
        }
        stop = await client.read()
        assert (stop["Event"], stop["Channel"]) == ("MixMonitorStop", name)
        assert server.channels[CHANNEL_ID].recording is None
        assert server.channels[CHANNEL_ID].recordings == [path]
        assert (await client.request(Action="StopMixMonitor", ActionID="s-2", Channel=name))[
            "Response"
        ] == "Error"
        await client.close()

    run(scenario)
    assert (tmp_path / "monitor" / "call.wav").read_bytes()[:4] == b"RIFF"  # muted time: silence


def test_core_show_channels() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        await client.send(Action="CoreShowChannels", ActionID="list-0")
        assert await client.read() == {
            "Response": "Success",
            "ActionID": "list-0",
            "EventList": "start",
            "Message": "Channels will follow",
        }
        assert await client.read() == {
            "Event": "CoreShowChannelsComplete",
            "ActionID": "list-0",
            "EventList": "Complete",
            "ListItems": "0",
        }
        name = await _connected_call(server, client)
        inbound = await server.inject_inbound("411", "0298765432")
        await client.read()  # its Newchannel
        await client.send(Action="CoreShowChannels", ActionID="list-1")
        assert (await client.read())["EventList"] == "start"
        first, second, complete = await client.read(), await client.read(), await client.read()
        assert list(first) == [
            "Event",
            "ActionID",
            "Channel",
            "ChannelState",
            "ChannelStateDesc",
            "CallerIDNum",
            "CallerIDName",
            "ConnectedLineNum",
            "ConnectedLineName",
            "Language",
            "AccountCode",
            "Context",
            "Exten",
            "Priority",
            "Uniqueid",
            "Linkedid",
            "Application",
            "ApplicationData",
            "Duration",
            "BridgeId",
        ]
        assert (first["Event"], first["ActionID"], first["Channel"]) == ("CoreShowChannel", "list-1", name)
        assert (first["Uniqueid"], first["ChannelStateDesc"], first["Duration"]) == (
            CHANNEL_ID,
            "Up",
            "00:00:00",
        )
        assert first["BridgeId"] == server.channels[CHANNEL_ID].bridge_id != ""
        assert (second["Uniqueid"], second["ChannelStateDesc"]) == (inbound, "Ringing")
        assert (second["CallerIDNum"], second["ConnectedLineNum"], second["Exten"]) == ("0298765432",) * 2 + (
            "411",
        )
        assert complete == {
            "Event": "CoreShowChannelsComplete",
            "ActionID": "list-1",
            "EventList": "Complete",
            "ListItems": "2",
        }
        await client.close()

    run(scenario)


# -- the PBX side ---------------------------------------------------------------------------------


def test_inbound_call_answered_then_hung_up_remotely() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        uniqueid = await server.inject_inbound("410", "0298765432")
        assert re.fullmatch(r"\d+\.\d+", uniqueid)
        new = await client.read()
        assert new["Event"] == "Newchannel"
        assert re.fullmatch(r"PJSIP/410-[0-9a-f]{8}", new["Channel"])
        assert (new["Uniqueid"], new["Linkedid"]) == (uniqueid, uniqueid)
        assert (new["ChannelState"], new["ChannelStateDesc"]) == ("5", "Ringing")
        assert (new["CallerIDNum"], new["Exten"]) == ("0298765432", "410")
        assert server.channels[uniqueid].direction == "inbound"

        await server.answer(uniqueid)
        up, bridge = await client.read(), await client.read()
        assert (up["Event"], up["ChannelStateDesc"], up["Uniqueid"]) == ("Newstate", "Up", uniqueid)
        assert (bridge["Event"], bridge["Uniqueid"]) == ("BridgeEnter", uniqueid)
        assert list(bridge)[2:9] == [
            "BridgeUniqueid",
            "BridgeType",
            "BridgeTechnology",
            "BridgeCreator",
            "BridgeName",
            "BridgeNumChannels",
            "BridgeVideoSourceMode",
        ]
        await server.answer(uniqueid)  # already up: nothing more

        await server.remote_hangup(uniqueid)
        blocks = await client.read_until("Hangup")
        assert events(blocks) == ["HangupRequest", "BridgeLeave", "Hangup"]
        assert (blocks[-1]["Cause"], blocks[-1]["Cause-txt"]) == ("16", "Normal Clearing")
        assert uniqueid not in server.channels
        with pytest.raises(KeyError):
            await server.remote_hangup(uniqueid)
        await client.close()

    run(scenario)


def test_blocks_never_interleave() -> None:
    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        uniqueids = await asyncio.gather(
            *(server.inject_inbound(f"4{n:02d}", f"02{n:08d}") for n in range(50))
        )
        blocks = [await client.read() for _ in uniqueids]
        assert sorted(block["Uniqueid"] for block in blocks) == sorted(uniqueids)
        assert all(block["Event"] == "Newchannel" for block in blocks)
        await client.close()

    run(scenario)


# -- connections ----------------------------------------------------------------------------------


def test_abrupt_disconnects_do_not_disturb_the_server() -> None:
    async def scenario(server: AmiServer) -> None:
        gone = await logged_in_client(server)
        half = await Client.connect(server.port)
        half.writer.write(b"Action: Login\r\nUsername: switch")  # dies mid-block
        await half.writer.drain()
        gone.writer.transport.abort()
        half.writer.transport.abort()
        # Events for a client that has just vanished must not raise anywhere.
        for n in range(5):
            await server.inject_inbound("410", f"0{n}")
        await asyncio.sleep(0.05)
        assert server.logged_in == 0
        survivor = await logged_in_client(server)
        assert (await survivor.request(Action="Ping", ActionID="p"))["Ping"] == "Pong"
        await survivor.close()
        await gone.close()
        await half.close()

    run(scenario)


def test_drop_connections_keeps_listening_and_channels() -> None:
    async def scenario(server: AmiServer) -> None:
        first, second = await logged_in_client(server), await logged_in_client(server)
        uniqueid = await server.inject_inbound("410", "0298765432")
        await first.read()
        await second.read()
        assert server.logged_in == 2
        await server.drop_connections()
        assert server.logged_in == 0
        assert await first.at_eof()
        assert await second.at_eof()
        again = await Client.connect(server.port)
        async with asyncio.timeout(2):
            login = asyncio.create_task(again.login())
            await server.wait_logged_in(1)
            assert (await login)["Response"] == "Success"
        # The call lived on through the blip.
        await again.send(Action="CoreShowChannels", ActionID="l")
        blocks = await again.read_until("CoreShowChannelsComplete")
        assert blocks[1]["Uniqueid"] == uniqueid
        for client in (first, second, again):
            await client.close()

    run(scenario)


def test_stop_and_start_again_on_the_same_port() -> None:
    async def scenario(server: AmiServer) -> None:
        port = server.port
        assert port > 0
        client = await logged_in_client(server)
        await server.stop()
        assert server.logged_in == 0
        assert await client.at_eof()
        await client.close()
        with pytest.raises(ConnectionRefusedError):
            await Client.connect(port)
        assert await server.start() == port == server.port
        back = await logged_in_client(server)
        assert (await back.request(Action="Ping", ActionID="p"))["Ping"] == "Pong"
        await back.close()
        with pytest.raises(RuntimeError):
            await server.start()

    run(scenario)


def test_start_on_a_given_port() -> None:
    async def main() -> None:
        probe = AmiServer()
        port = await probe.start()
        await probe.stop()
        server = AmiServer(username="admin", secret="other")
        assert await server.start(port) == port
        try:
            client = await Client.connect(port)
            reply = await client.request(Action="Login", ActionID="l", Username="admin", Secret="other")
            assert reply["Message"] == "Authentication accepted"
            await client.close()
        finally:
            await server.stop()

    asyncio.run(main())


def test_a_mixmonitor_file_asterisk_cannot_write_is_answered_success_and_never_made(tmp_path: Path) -> None:
    """As Asterisk 22 behaves when its user may not write the directory: Success, MIXMONITOR_FILENAME,
    MixMonitorStart, MixMonitorStop on stop; only its log and the missing file tell."""
    directory = tmp_path.resolve()

    async def scenario(server: AmiServer) -> None:
        client = await logged_in_client(server)
        name = await _connected_call(server, client)
        server.unwritable.add(directory)
        path = directory / "call.wav"
        reply = await client.request(Action="MixMonitor", ActionID="m-1", Channel=name, File=str(path))
        assert reply == {"Response": "Success", "ActionID": "m-1"}
        assert [(await client.read())["Event"] for _ in range(2)] == ["VarSet", "MixMonitorStart"]
        assert not path.exists()
        assert server.log == [f"ERROR[app_mixmonitor.c] Cannot open {path}"]
        stop = await client.request(Action="StopMixMonitor", ActionID="s-1", Channel=name)
        assert stop == {"Response": "Success", "ActionID": "s-1"}
        assert (await client.read())["Event"] == "MixMonitorStop"
        assert not path.exists()
        await client.close()

    run(scenario)
