using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace LightNet.Distributed;

/// <summary>
/// The ranks of a job connected in a star over TCP: rank 0 listens on <c>host:port</c>, every other rank connects
/// and announces its rank. Used to exchange small blobs at start-up (the NCCL unique id) and as the transport of
/// the reference <see cref="TcpCollective"/>. Messages are length-prefixed; a peer that disconnects or sends a
/// malformed frame raises an <see cref="IOException"/> naming the rank.
/// </summary>
public sealed class TcpGroup : IDisposable
{
    private const int Magic = 0x4C4E4454; // "LNDT"
    private readonly TcpListener? _listener;
    private readonly NetworkStream?[] _peers;    // rank 0: one per other rank; others: [0] = rank 0
    private readonly NetworkStream? _root;

    private TcpGroup(int rank, int world, TcpListener? listener, NetworkStream?[] peers, NetworkStream? root)
    {
        Rank = rank; WorldSize = world; _listener = listener; _peers = peers; _root = root;
    }

    /// <summary>This process's rank.</summary>
    public int Rank { get; }

    /// <summary>Number of ranks.</summary>
    public int WorldSize { get; }

    /// <summary>Joins the group: rank 0 accepts <paramref name="world"/> − 1 connections, the others connect (retrying until <paramref name="timeout"/>).</summary>
    public static TcpGroup Join(string host, int port, int rank, int world, TimeSpan timeout)
    {
        if (world < 1) throw new ArgumentOutOfRangeException(nameof(world), $"tcp_group: world size must be ≥ 1, got {world}");
        if (rank < 0 || rank >= world) throw new ArgumentOutOfRangeException(nameof(rank), $"tcp_group: rank {rank} outside 0..{world - 1}");
        var deadline = DateTime.UtcNow + timeout;
        if (rank == 0)
        {
            var listener = new TcpListener(IPAddress.Any, port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start(world);
            var peers = new NetworkStream?[world];
            for (int i = 1; i < world; i++)
            {
                var accept = listener.AcceptTcpClientAsync();
                if (!accept.Wait(Remaining(deadline)))
                    throw new TimeoutException($"tcp_group: rank 0 waited {timeout.TotalSeconds:F0} s on port {port} but only {i - 1} of {world - 1} ranks connected");
                var client = accept.Result;
                client.NoDelay = true;
                var s = client.GetStream();
                var hello = ReadFrame(s, "a joining rank");
                if (hello.Length != 8 || BinaryPrimitives.ReadInt32LittleEndian(hello) != Magic)
                    throw new IOException("tcp_group: a peer sent a malformed greeting (not a LightNet rank?)");
                int r = BinaryPrimitives.ReadInt32LittleEndian(hello.AsSpan(4));
                if (r <= 0 || r >= world || peers[r] != null) throw new IOException($"tcp_group: a peer announced rank {r}, invalid or duplicate in a world of {world}");
                peers[r] = s;
            }
            return new TcpGroup(0, world, listener, peers, null);
        }
        while (true)
        {
            try
            {
                var client = new TcpClient { NoDelay = true };
                client.Connect(host, port);
                var s = client.GetStream();
                var hello = new byte[8];
                BinaryPrimitives.WriteInt32LittleEndian(hello, Magic);
                BinaryPrimitives.WriteInt32LittleEndian(hello.AsSpan(4), rank);
                WriteFrame(s, hello);
                return new TcpGroup(rank, world, null, [], s);
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
            }
            catch (SocketException e)
            {
                throw new TimeoutException($"tcp_group: rank {rank} could not reach rank 0 at {host}:{port} within {timeout.TotalSeconds:F0} s ({e.SocketErrorCode})");
            }
        }
    }

    /// <summary>A TCP port that is free on the loopback interface right now (for a job's rank 0 to listen on).</summary>
    public static int FreeLoopbackPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private static TimeSpan Remaining(DateTime deadline) => deadline > DateTime.UtcNow ? deadline - DateTime.UtcNow : TimeSpan.Zero;

    /// <summary>Rank 0 sends <paramref name="data"/> to every rank; every rank returns it.</summary>
    public byte[] Broadcast(byte[]? data)
    {
        if (Rank == 0)
        {
            ArgumentNullException.ThrowIfNull(data);
            for (int r = 1; r < WorldSize; r++) WriteFrame(_peers[r]!, data);
            return data;
        }
        return ReadFrame(_root!, "rank 0");
    }

    /// <summary>Every rank sends its blob to rank 0, which returns them in rank order (others return an empty array).</summary>
    public byte[][] Gather(byte[] data)
    {
        if (Rank != 0)
        {
            WriteFrame(_root!, data);
            return [];
        }
        var all = new byte[WorldSize][];
        all[0] = data;
        for (int r = 1; r < WorldSize; r++) all[r] = ReadFrame(_peers[r]!, $"rank {r}");
        return all;
    }

    private static void WriteFrame(NetworkStream s, ReadOnlySpan<byte> data)
    {
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(len, data.Length);
        s.Write(len);
        s.Write(data);
    }

    private static byte[] ReadFrame(NetworkStream s, string from)
    {
        var len = new byte[8];
        ReadExactly(s, len, from);
        long n = BinaryPrimitives.ReadInt64LittleEndian(len);
        if (n < 0 || n > int.MaxValue) throw new IOException($"tcp_group: {from} sent a frame of {n} bytes (corrupt stream)");
        var data = new byte[n];
        ReadExactly(s, data, from);
        return data;
    }

    private static void ReadExactly(NetworkStream s, byte[] buf, string from)
    {
        try { s.ReadExactly(buf); }
        catch (EndOfStreamException) { throw new IOException($"tcp_group: {from} disconnected (did that process fail?)"); }
    }

    /// <summary>Closes every connection.</summary>
    public void Dispose()
    {
        foreach (var p in _peers) p?.Dispose();
        _root?.Dispose();
        _listener?.Stop();
    }
}
